"""Hypothesis strategies for every request message of the gRPC API, and byte-level damage to them.

`message(descriptor)` builds any protobuf message from its descriptor, field by field (so a field added to the
.proto is fuzzed without touching this file): strings from boundary texts (empty, over the limit, control
characters, emoji, right-to-left, lone combining marks), integers and enums over their whole wire range (unknown
enum numbers included: proto3 enums are open), floats with NaN, infinities and extremes, bytes that are random
(never valid audio, by accident), repeated fields from empty to huge, optional fields set or not. Values that
reach deep paths (a registered voice, a real language, an encoding with a rate that fits) are mixed in, so that
some requests pass validation and start audio.

`wire(...)` then damages the serialized bytes: truncated, two messages concatenated (protobuf merges them: a
valid message), random bytes, a string field holding invalid UTF-8.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

from qwen3tts.v1 import tts_pb2

# Values that reach the deep paths on the tiny Base checkpoint served by the fuzz fixtures.
VOICE = "fuzzvoice"
LANGUAGES = ("english", "chinese", "auto", "german", "")
RATES = (0, 8000, 16000, 22050, 24000, 44100, 48000, 1, -1, 7999, 2**31 - 1, -(2**31))
SENTENCES = ("Hello.", "The quick brown fox jumps over the lazy dog.", "Numbers like 42 and 3.14.",
             "Привет, как дела?", "你好，世界。")

INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1), FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1), FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1), FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def boundary_text(limit: int = 5000) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SENTENCES),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
        st.sampled_from(["", " ", "\n\t", "\x00", "\u202e\u202dtext", "\u0301", "🙂" * 50, "a" * limit,
                         "a" * (limit + 1), "word " * (limit // 5 + 20), "<speak>ssml?</speak>", "..." * 30]),
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    name, t = field.name, field.type
    if t == FieldDescriptor.TYPE_STRING:
        if name in ("voice", "name"):
            return st.one_of(st.just(VOICE), st.sampled_from(["", "Vivian", "no-such-voice", "x" * 65, "a b",
                                                               "../etc", "UPPER", "-lead"]), st.text(max_size=70))
        if name == "language" or name == "languages":
            return st.one_of(st.sampled_from(LANGUAGES), st.text(max_size=20))
        return boundary_text()
    if t == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.binary(min_size=1000, max_size=48_000))
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        width = 32 if t == FieldDescriptor.TYPE_FLOAT else 64
        return st.one_of(st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, 4.0, 0.25, 100.0, -1.0]),
                         st.floats(width=width, allow_nan=True, allow_infinity=True))
    lo, hi = INT_RANGES[t]
    special: list[int] = [v for v in (0, 1, -1, 20, 80, 100, 101, 800, 2000, lo, hi) if lo <= v <= hi]
    if name == "sample_rate_hertz":
        special += [r for r in RATES if lo <= r <= hi]
    if t == FieldDescriptor.TYPE_ENUM:
        special += [v.number for v in field.enum_type.values] * 3  # known values more often
        special += [len(field.enum_type.values), 99, 2**31 - 1]  # unknown enum numbers
    return st.one_of(st.sampled_from(special), st.integers(lo, hi))


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message(field.message_type, depth + 1)
    return _scalar(field)


@st.composite
def _message(draw, descriptor: Descriptor, depth: int):
    cls = _class(descriptor)
    msg = cls()
    oneofs_done: set[str] = set()
    for field in descriptor.fields:
        if field.containing_oneof is not None and not field.containing_oneof.name.startswith("_"):
            group = field.containing_oneof.name
            if group in oneofs_done or not draw(st.booleans()):
                continue
            oneofs_done.add(group)
        elif not draw(st.integers(0, 3)):  # a field left unset a quarter of the time
            continue
        if field.is_repeated:
            size = draw(st.one_of(st.integers(0, 4), st.sampled_from([0, 64, 3000])))
            values = draw(st.lists(_value(field, depth), min_size=min(size, 4), max_size=min(size, 4)))
            if size > 4 and values:  # a huge repeated field: the same values many times
                values = (values * (size // len(values) + 1))[:size]
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(msg, field.name).extend(values)
            else:
                getattr(msg, field.name).extend(values)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 3:
                getattr(msg, field.name).CopyFrom(draw(_value(field, depth)))
        else:
            setattr(msg, field.name, draw(_value(field, depth)))
    return msg


def message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy:
    return _message(descriptor, depth)


def _class(descriptor: Descriptor):
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


def plausible_synthesis() -> st.SearchStrategy[tts_pb2.SynthesizeRequest]:
    """Requests that mostly pass validation: they reach admission, the worker and the encoders."""
    encodings = [v.number for v in tts_pb2.AudioEncoding.DESCRIPTOR.values if v.number]
    return st.builds(
        lambda text, enc, rate, chunk, ms, seed, speed, norm, seg, dry, prio: tts_pb2.SynthesizeRequest(
            text=text, voice=VOICE, audio_format=tts_pb2.AudioFormat(encoding=enc, sample_rate_hertz=rate),
            chunk_duration_ms=chunk, max_audio_duration_ms=ms, seed=seed, speed=speed, text_normalization=norm,
            segment_events=seg, dry_run=dry, priority=prio),
        st.sampled_from(SENTENCES), st.sampled_from(encodings), st.sampled_from([0, 8000, 16000, 24000, 48000]),
        st.sampled_from([0, 20, 40, 80, 100]), st.sampled_from([80, 400, 800]), st.integers(0, 2**40),
        st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]), st.integers(0, 3), st.booleans(), st.booleans(),
        st.integers(0, 2))


# ------------------------------------------------------------------ bytes
def _invalid_utf8_field(number: int) -> st.SearchStrategy[bytes]:
    """A length-delimited field `number` holding bytes that are not UTF-8 (a string field on the wire)."""
    bad = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"abc\x80def", b"\xf8\x88\x80\x80\x80"])
    return bad.map(lambda b: bytes([(number << 3) | 2, len(b)]) + b)


@st.composite
def wire(draw, descriptor: Descriptor, strategy: st.SearchStrategy | None = None) -> bytes:
    """Serialized request bytes, damaged one way or another (or not at all)."""
    msg = draw(strategy if strategy is not None else message(descriptor))
    data = msg.SerializeToString()
    how = draw(st.sampled_from(["intact", "truncated", "concatenated", "random", "invalid-utf8", "appended-junk"]))
    if how == "truncated" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "concatenated":
        return data + draw(message(descriptor)).SerializeToString()
    if how == "random":
        return draw(st.binary(min_size=1, max_size=200))
    if how == "invalid-utf8":
        strings = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
        if strings:
            return data + draw(_invalid_utf8_field(draw(st.sampled_from(strings))))
    if how == "appended-junk":
        return data + draw(st.binary(min_size=1, max_size=16))
    return data
