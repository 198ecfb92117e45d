"""StreamingSynthesize on the real server: text deltas in (an LLM writing), audio out while the text arrives.

- an LLM-like token stream (a few characters every 30 ms) gets its first audio before the input ends;
- deltas faster than the idle pause give exactly the segments of the same whole text through Synthesize, and
  (same seed) the same audio bit for bit;
- `flush` speaks a partial sentence at once; half-close speaks the rest, then `finished`;
- a bad config is refused before any text, a second config too; 200 idle sessions cost no decode step.
"""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest

from qwen3tts.v1 import tts_pb2
from tests.e2e import collect, details, request, running_server, scrape, synthesize, wait_for

F32 = tts_pb2.AUDIO_ENCODING_PCM_F32LE
TEXT = ("Streaming text comes in small pieces, the way a language model writes it. "
        "Every sentence is spoken once it is surely complete. And the last one ends the turn.")


@pytest.fixture(scope="module")
def server(make_ckpt):
    # 200 idle sessions come over the one client connection (as through a gateway): above the default 100
    # concurrent streams per connection, which an operator raises the same way.
    with running_server(make_ckpt("tiny"), "--max-batch", "2", "--max-sessions", "256",
                        "--max-streams-per-connection", "256", "--stream-idle-flush-ms", "500") as s:
        yield s


@pytest.fixture(scope="module")
def stub(server):
    channel = server.channel()
    yield server.stub()
    channel.close()


def _config(**fields) -> tts_pb2.StreamingSynthesizeRequest:
    req = request("", **fields)
    return tts_pb2.StreamingSynthesizeRequest(config=req)


def _deltas(text: str, size: int, pause_s: float, *, flush_after: int | None = None, hold: threading.Event = None):
    yield_pause = pause_s
    for i in range(0, len(text), size):
        yield tts_pb2.StreamingSynthesizeRequest(text=text[i:i + size])
        if flush_after is not None and i + size >= flush_after:
            yield tts_pb2.StreamingSynthesizeRequest(flush=True)
            flush_after = None
            if hold is not None:
                hold.wait(60)  # keep the input open until the test saw the flushed audio
        time.sleep(yield_pause)


def _stream(stub, messages, timeout: float = 120):
    return collect(stub.StreamingSynthesize(iter(messages), timeout=timeout))


def test_first_audio_arrives_before_the_input_ends(stub):
    input_done = {}

    def messages():
        yield _config(seed=3, max_audio_duration_ms=2400, format=(F32, 24000))
        yield from _deltas(TEXT, 4, 0.03)
        input_done["at"] = time.monotonic()

    call = stub.StreamingSynthesize(messages(), timeout=120)
    first_audio = None
    events = []
    for response in call:
        events.append(response.WhichOneof("event"))
        if events[-1] == "audio" and first_audio is None:
            first_audio = time.monotonic()
    assert events[0] == "started" and events[-1] == "finished" and "segment" in events
    assert first_audio is not None and ("at" not in input_done or first_audio < input_done["at"])


def test_fast_deltas_give_the_whole_texts_segments_and_audio(stub):
    bound = 2400  # 30 frames: the first segment's audio (random weights never end a segment early)
    whole = synthesize(stub, request(TEXT, seed=7, segment_events=True, max_audio_duration_ms=bound,
                                     format=(F32, 24000)), timeout=120).ok()
    dry = synthesize(stub, request(TEXT, dry_run=True)).ok()
    streamed = _stream(stub, [_config(seed=7, max_audio_duration_ms=bound, format=(F32, 24000)),
                              *[tts_pb2.StreamingSynthesizeRequest(text=TEXT[i:i + 3]) for i in range(0, len(TEXT), 3)]])
    streamed.ok()
    assert [(g.source_start, g.source_end, g.text) for g in streamed.segments] == \
        [(g.source_start, g.source_end, g.text) for g in dry.segments][:len(streamed.segments)]
    assert np.array_equal(streamed.f32().view(np.uint32), whole.f32().view(np.uint32))


def test_flush_speaks_a_partial_sentence_and_half_close_the_rest(stub):
    hold = threading.Event()
    partial = "Here comes a sentence that stops in the middle of"

    def messages():
        yield _config(seed=4, max_audio_duration_ms=4000)
        yield from _deltas(partial, 50, 0.0, flush_after=len(partial), hold=hold)
        yield tts_pb2.StreamingSynthesizeRequest(text=" nowhere.")

    call = stub.StreamingSynthesize(messages(), timeout=120)
    seen = []
    for response in call:
        seen.append(response)
        if response.WhichOneof("event") == "audio":
            hold.set()  # the flushed text is being spoken while the input is still open
    segments = [r.segment for r in seen if r.WhichOneof("event") == "segment"]
    assert segments[0].text == partial and seen[-1].WhichOneof("event") == "finished"


def test_bad_configs_are_refused_before_any_text(stub):
    s = _stream(stub, [_config(voice="nobody")])
    assert s.code == grpc.StatusCode.INVALID_ARGUMENT and list(details(s.error).violations) == ["voice"]
    s = _stream(stub, [tts_pb2.StreamingSynthesizeRequest(text="no config first")])
    assert s.code == grpc.StatusCode.INVALID_ARGUMENT and list(details(s.error).violations) == ["config"]
    s = _stream(stub, [_config(), _config()])
    assert s.code == grpc.StatusCode.INVALID_ARGUMENT and list(details(s.error).violations) == ["config"]
    s = _stream(stub, [tts_pb2.StreamingSynthesizeRequest(config=request("text belongs in deltas"))])
    assert s.code == grpc.StatusCode.INVALID_ARGUMENT and list(details(s.error).violations) == ["text"]


def test_idle_sessions_take_no_slot_and_no_decode_step(server, stub):
    stop = threading.Event()
    calls = []

    def idle():
        yield _config()
        stop.wait(120)

    for _ in range(200):
        calls.append(stub.StreamingSynthesize(idle(), timeout=180))
    try:
        for call in calls:  # each is routed to the worker and started (seed reported) ...
            assert next(call).WhichOneof("event") == "started"
        steps = _settled_steps(server)  # (the stats of earlier tests' last steps may still come in)
        time.sleep(2.5)  # ... and then costs nothing: no decode step while no one speaks
        assert scrape(server).get("qwen3tts_batch_size_count") == steps
        s = synthesize(stub, request(seed=1), timeout=120).ok()  # an active request is served as usual
        assert s.finished.usage.generated_frames == 10
        assert wait_for(lambda: scrape(server).get("qwen3tts_requests_running") == 0, timeout=10)
    finally:
        stop.set()
        for call in calls:
            call.cancel()


def _settled_steps(server) -> float:
    """The decode-step counter once it has stopped moving for 2 s (the server exports it every second)."""
    last, since = scrape(server).get("qwen3tts_batch_size_count"), time.monotonic()
    while time.monotonic() - since < 2.0:
        time.sleep(0.25)
        now = scrape(server).get("qwen3tts_batch_size_count")
        if now != last:
            last, since = now, time.monotonic()
    return last
