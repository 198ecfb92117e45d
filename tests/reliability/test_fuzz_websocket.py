"""Fuzzing the WebSocket door (`/v1/audio/speech/stream`) against the real server (`hardened`).

A session's first frame is a fuzzed session.config (the speech body's fields with values of every JSON type,
as test_fuzz_http.py makes them) or a raw frame (any JSON, text that is not JSON, binary); then a few fuzzed
frames (input messages with junk fields and values, unknown types, binary, text), then `input_text.end`. The
client reads until the socket closes or the turn is done. A good session (docs/api.md, the WebSocket's close
codes): every `error` event is an OpenAI error object with a message and a code, and names its field when it
is a 400; the socket closes with 1000, or 4000 + a documented HTTP status right after an error event with
that status, never 1011 (the server's internal error) or 4500; no worker restarts (test_fuzz_http.py's last
test checks the server after every fuzz suite).
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.reliability.conftest import ADMIN
from tests.reliability.fuzz_judge import HTTP_DOCUMENTED
from tests.reliability.fuzz_messages import boundary_text
from tests.reliability.test_fuzz_http import FUZZ, JSON_ANY, PLAUSIBLE, SPEECH_BODY

PATH = "/v1/audio/speech/stream"
READ_TIMEOUT_S = 30.0  # a fuzzed turn's audio is bounded (max_audio_duration_ms) or the server refuses it

INPUT = st.one_of(
    st.fixed_dictionaries({"type": st.just("input_text.append")},
                          optional={"text": st.one_of(boundary_text(), JSON_ANY), "event_id": JSON_ANY}),
    st.fixed_dictionaries({"type": st.sampled_from(["input_text.flush", "input_text.end", "response.cancel",
                                                    "session.config", "", "bogus", "session.update"])},
                          optional={"event_id": JSON_ANY, "text": JSON_ANY}),
    JSON_ANY,
)
FRAME = st.one_of(INPUT.map(json.dumps), st.binary(max_size=200), st.text(max_size=60))
CONFIG = st.one_of(SPEECH_BODY, PLAUSIBLE.map(lambda b: {k: v for k, v in b.items()
                                                         if k not in ("input", "stream_format")}))
FIRST = st.one_of(CONFIG.map(lambda body: json.dumps({"type": "session.config", **body})), FRAME)


def _session(url: str, first, frames: list) -> tuple[list[dict], int | None]:
    """Play one fuzzed session; (the JSON events received, the close code, None if the socket stayed open)."""
    events: list[dict] = []
    with connect(url, additional_headers={"authorization": f"Bearer {ADMIN}"}, max_size=None,
                 open_timeout=30, close_timeout=10) as ws:
        try:
            for frame in (first, *frames, json.dumps({"type": "input_text.end"})):
                ws.send(frame)
        except ConnectionClosed:
            pass  # the server closed it: what it sent before is still to be read
        try:
            while True:
                msg = ws.recv(timeout=READ_TIMEOUT_S)
                if isinstance(msg, str):
                    events.append(json.loads(msg))
                    if events[-1].get("type") == "turn.done":
                        return events, None
        except ConnectionClosed:
            pass
        except TimeoutError:
            return events, None
        return events, ws.close_code


def _judge(events: list[dict], code: int | None) -> str | None:
    errors = [e for e in events if e.get("type") == "error"]
    for e in errors:
        err = e.get("error") or {}
        if not err.get("message") or not err.get("code"):
            return f"an error event without message or code: {e}"
    if code is None or code == 1000:
        return None
    status = code - 4000
    if status not in HTTP_DOCUMENTED or status < 400:
        return f"close code {code}"
    if not errors:
        return f"close code {code} without an error event before it"
    if status == 400 and not errors[-1]["error"].get("param"):
        return f"a 400 close without the field at fault: {errors[-1]}"
    return None


@FUZZ
@given(first=FIRST, frames=st.lists(FRAME, max_size=4))
def test_websocket_sessions(hardened, first, frames):
    events, code = _session(hardened.server.ws_url + PATH, first, frames)
    hardened.count("websocket")
    problem = _judge(events, code)
    assert problem is None, f"{problem}\n  first: {first!r:.300}\n  then: {frames!r:.300}"


def test_zz_server_unharmed_after_the_sessions(hardened):
    hardened.assert_unharmed()
    print(f"WebSocket fuzz: {hardened.sent.get('websocket', 0)} sessions")
