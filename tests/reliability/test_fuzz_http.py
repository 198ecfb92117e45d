"""Fuzzing the HTTP door (OpenAI-compatible): every body of every route, against the real server (`hardened`).

Speech bodies: JSON objects whose known fields get values of every JSON type (boundary strings and numbers,
NaN-like extremes, nested junk, unknown fields), bodies that are not JSON, not objects, not UTF-8, or cut
short; voice registration: multipart forms with random fields and random bytes as audio, and non-multipart
bodies; voice deletion and model lookup with random names in the path. Every answer must be documented
(fuzz_judge.judge_http: never 500, 400 names the field, refusals carry their code); no worker may restart.

A new route (the WebSocket door's /v1/audio/speech/stream) gets one more test here: open the socket, send a
fuzzed first message (the same SPEECH_BODY objects), read until the close frame, judge the close code / error
event the way judge_http judges a status.
"""

from __future__ import annotations

import json
import os
import urllib.parse

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import ADMIN, FUZZ_EXAMPLES
from tests.reliability.fuzz_judge import judge_http
from tests.reliability.fuzz_messages import SENTENCES, VOICE, boundary_text

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                derandomize=os.environ.get("FUZZ_RANDOM") is None, suppress_health_check=list(HealthCheck))
AUTH = {"authorization": f"Bearer {ADMIN}"}
READ_BYTES = 4096  # of a 200 audio body before the client hangs up

JSON_ANY = st.recursive(st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
                        | st.text(max_size=30), lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=8)
FIELDS = {
    "model": st.sampled_from(["tts-1", "gpt-4o-mini-tts", "", "x" * 300]),
    "input": boundary_text(),
    "voice": st.one_of(st.sampled_from([VOICE, "alloy", "", "nobody", "UPPER"]), st.just({"id": VOICE}),
                       st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)),
    "instructions": boundary_text(),
    "response_format": st.sampled_from(["pcm", "wav", "mp3", "opus", "aac", "flac", "ulaw", "alaw", "PCM", "ogg", ""]),
    "speed": st.one_of(st.sampled_from([0.25, 1.0, 4.0, 0.0, -1.0, 4.01, 1e308]), st.floats(allow_nan=False)),
    "stream_format": st.sampled_from(["audio", "sse", "SSE", "json", ""]),
    "language": st.sampled_from(["english", "auto", "klingon", ""]),
    "seed": st.one_of(st.integers(-(2**64), 2**64), st.sampled_from([0, 1, -1, 2**63 - 1, 2**63])),
    "sample_rate": st.sampled_from([0, 8000, 16000, 24000, 48000, 44100, -1, 2**31, 7]),
    "sampling": st.one_of(st.fixed_dictionaries({}, optional={
        "temperature": st.floats(allow_nan=False), "top_k": st.integers(-5, 2**40), "top_p": st.floats(allow_nan=False),
        "repetition_penalty": st.floats(allow_nan=False), "greedy": st.booleans(), "bogus": JSON_ANY}), JSON_ANY),
    "max_audio_duration_ms": st.sampled_from([80, 400, 800, 0, -5, 2**40, 1.5]),
    "priority": st.sampled_from(["interactive", "batch", "urgent", ""]),
}
SPEECH_BODY = st.fixed_dictionaries(
    {}, optional={k: st.one_of(v, JSON_ANY) for k, v in FIELDS.items()}).flatmap(
    lambda d: st.dictionaries(st.text(max_size=12), JSON_ANY, max_size=2).map(lambda extra: {**d, **extra})
    if not d else st.just(d))
PLAUSIBLE = st.fixed_dictionaries({"input": st.sampled_from(SENTENCES), "voice": st.just(VOICE),
                                   "max_audio_duration_ms": st.sampled_from([80, 400, 800]),
                                   "response_format": st.sampled_from(["pcm", "wav", "mp3", "opus", "flac"]),
                                   "stream_format": st.sampled_from(["audio", "sse"]),
                                   "speed": st.sampled_from([0.5, 1.0, 2.0])})
RAW_BODY = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"{", b"[]", b"null", b'"text"', b"{}" * 50,
                                                               b'{"input": "\xff\xfe"}', b'{"input": 1e999}']))


@pytest.fixture(scope="module")
def http(hardened):
    with httpx.Client(base_url=hardened.server.http_url, headers=AUTH, timeout=60) as client:
        yield client


def _send(hardened, http, method: str, path: str, **kwargs) -> tuple[int, dict, bytes]:
    with http.stream(method, path, **kwargs) as r:
        body = b""
        for data in r.iter_bytes():
            body += data
            if r.status_code == 200 and len(body) >= READ_BYTES:
                break  # hang up mid-stream: the server must stop the generation and stay well
        hardened.count("http")
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, body


def _judge(result, what) -> None:
    problem = judge_http(*result)
    assert problem is None, f"{problem}\n  request: {what!r:.600}"


@FUZZ
@given(body=st.one_of(SPEECH_BODY, PLAUSIBLE))
def test_speech_bodies(hardened, http, body):
    _judge(_send(hardened, http, "POST", "/v1/audio/speech", content=json.dumps(body).encode(),
                 headers={"content-type": "application/json"}), body)


@FUZZ
@given(body=RAW_BODY, cut=st.integers(0, 50))
def test_speech_raw_and_cut_bodies(hardened, http, body, cut):
    _judge(_send(hardened, http, "POST", "/v1/audio/speech", content=body,
                 headers={"content-type": "application/json"}), body)
    good = json.dumps({"input": "Hello.", "voice": VOICE, "max_audio_duration_ms": 400}).encode()
    _judge(_send(hardened, http, "POST", "/v1/audio/speech", content=good[:cut],
                 headers={"content-type": "application/json"}), good[:cut])


FORM_FIELD = st.sampled_from(["name", "reference_text", "x_vector_only", "description", "languages", "consent",
                              "bogus"])


@FUZZ
@given(fields=st.lists(st.tuples(FORM_FIELD, boundary_text()), max_size=6),
       audio=st.one_of(st.none(), st.binary(max_size=64), st.binary(min_size=2000, max_size=40_000)),
       multipart=st.booleans())
def test_voice_registration_forms(hardened, http, fields, audio, multipart):
    fields = [(k, v) for k, v in fields if not (k == "name" and v.strip().lower() == VOICE)]
    if multipart:
        files = {"audio_sample": ("ref.wav", audio, "audio/wav")} if audio is not None else None
        data = {}
        for k, v in fields:
            data.setdefault(k, []).append(v)
        result = _send(hardened, http, "POST", "/v1/audio/voices", data=data, files=files)
    else:
        result = _send(hardened, http, "POST", "/v1/audio/voices", content=audio or b"",
                       headers={"content-type": "application/octet-stream"})
    if result[0] == 201:  # random audio that happened to register: delete it again
        name = json.loads(result[2]).get("name") or json.loads(result[2]).get("id")
        http.delete(f"/v1/audio/voices/{urllib.parse.quote(name, safe='')}")
    _judge(result, (fields, audio and audio[:40]))


@FUZZ
@given(name=st.text(max_size=80).filter(lambda n: n.strip().lower() != VOICE), language=st.text(max_size=20),
       model=st.text(max_size=40))
def test_paths_and_queries(hardened, http, name, language, model):
    quoted = urllib.parse.quote(name, safe="")
    for method, path in (("DELETE", f"/v1/audio/voices/{quoted}"), ("GET", f"/v1/models/{quoted or 'x'}"),
                         ("GET", "/v1/audio/voices?language=" + urllib.parse.quote(language)),
                         ("GET", "/v1/models"), ("GET", "/v1/audio/models"), ("PUT", "/v1/audio/speech")):
        _judge(_send(hardened, http, method, path), (method, path))


def test_zz_server_unharmed(hardened):
    hardened.assert_unharmed()
    total = sum(hardened.sent.values())
    print(f"HTTP fuzz: {hardened.sent.get('http', 0)} requests; all fuzz so far: {total}")
    minimum = int(os.environ.get("FUZZ_MIN_REQUESTS", "0"))
    assert total >= minimum, f"only {total} requests were sent (FUZZ_MIN_REQUESTS={minimum})"
