"""The WebSocket door /v1/audio/speech/stream on the real server, through a real WebSocket client (`websockets`):

- an LLM-like token stream (3-5 characters every 30 ms) gets its first audio before its input ends, with the
  segments of the same whole text (gRPC dry run) and, same seed, the audio of gRPC Synthesize bit for bit (`pcm`);
- `input_text.flush` speaks a partial sentence while the input is still open;
- `response.cancel` stops the audio, and the next turn on the same socket is spoken; text after
  `input_text.end` (before `turn.done`) and bad messages are refused with an error event, the session goes on;
- refusals close the socket with 4000 + the HTTP status after an error event: a bad session.config (4400), no or
  a wrong token (4401; a wrong Authorization header is refused at the upgrade with 401), too much text without a
  turn over --max-text-chars (4429), the idle-session timeout (4504); a foreign browser origin is refused at the upgrade (403);
- a client that disconnects mid-turn frees its worker slot; metrics carry door="websocket";
- last, the drain: SIGTERM closes an idle socket with 1001 (it stops this module's server).

One server for the module (tiny checkpoint, tokens, a short idle timeout); random weights never end a segment,
so every audio-comparing session is bounded by max_audio_duration_ms (the session's bound: it ends the socket).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from qwen3tts.v1 import tts_pb2
from tests.e2e import request, running_server, scrape, speech_socket, synthesize, wait_for

TOKEN = "ws-test-token"
VOICE = "vivian"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
ALLOWED_ORIGIN = "https://app.example"
IDLE_TIMEOUT_S = 3
MAX_TEXT = 2000
PCM = tts_pb2.AUDIO_ENCODING_PCM_S16LE
TEXT = ("Streaming text comes in small pieces, the way a language model writes it. Every sentence is spoken once "
        "it is surely complete, and not a moment later. Numbers like 3.5 or Dr. Smith do not end a sentence. "
        "The deltas keep coming while the first audio plays. And the last one ends the turn.")
LONG = "This sentence is long on purpose, so that the stream keeps going for a good while. " * 6


@pytest.fixture(scope="module")
def server(make_ckpt, tmp_path_factory):
    tokens = tmp_path_factory.mktemp("ws-auth") / "tokens"
    tokens.write_text(TOKEN + "\n")
    with running_server(make_ckpt("tiny"), "--max-batch", "2", "--auth-token-file", str(tokens),
                        "--session-idle-timeout", str(IDLE_TIMEOUT_S), "--stream-idle-flush-ms", "500",
                        "--cors-origins", ALLOWED_ORIGIN, "--max-text-chars", str(MAX_TEXT), http=True) as s:
        yield s


@pytest.fixture(scope="module")
def stub(server):
    channel = server.channel()
    from qwen3tts.v1 import tts_pb2_grpc

    yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
    channel.close()


@dataclass
class Turn:
    """What one turn sent: its audio, its JSON events in order, its turn.done."""

    audio: bytearray = field(default_factory=bytearray)
    events: list[dict] = field(default_factory=list)
    done: dict | None = None
    first_audio_at: float | None = None

    @property
    def segments(self) -> list[dict]:
        return [e for e in self.events if e["type"] == "segment"]

    @property
    def errors(self) -> list[dict]:
        return [e["error"] for e in self.events if e["type"] == "error"]


def send(ws, kind: str, **fields) -> None:
    ws.send(json.dumps({"type": kind, **fields}))


@contextlib.contextmanager
def open_session(server, **config):
    """A socket whose session.config was accepted: (socket, session.started); closed on exit."""
    with speech_socket(server, token=TOKEN) as ws:
        send(ws, "session.config", response_format="pcm", voice=VOICE, **config)
        started = json.loads(ws.recv(timeout=60))
        assert started["type"] == "session.started", started
        yield ws, started


def read_turn(ws, timeout: float = 180, until=None) -> Turn:
    """Messages up to and including the turn's turn.done (or until `until(turn)` is true)."""
    turn, deadline = Turn(), time.monotonic() + timeout
    while turn.done is None and not (until and until(turn)):
        msg = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(msg, bytes):
            turn.first_audio_at = turn.first_audio_at or time.monotonic()
            turn.audio += msg
        else:
            event = json.loads(msg)
            turn.events.append(event)
            if event["type"] == "turn.done":
                turn.done = event
    return turn


def closed(ws, timeout: float = 60) -> tuple[int, str, list]:
    """Read to the end: (close code, reason, the JSON events before it)."""
    events = []
    try:
        while True:
            msg = ws.recv(timeout=timeout)
            if isinstance(msg, str):
                events.append(json.loads(msg))
    except ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else 1006, e.rcvd.reason if e.rcvd else "", events


# ------------------------------------------------------------------ speech
def test_an_llm_token_stream_speaks_before_its_end_with_the_whole_texts_segments_and_audio(server, stub):
    bound = 2400  # 30 frames: the first segment's audio, then the session ends (close 1000)
    sent = {}

    def llm(ws):  # 3, 4, 5, 3, ... characters every 30 ms
        i, sizes = 0, [3, 4, 5]
        try:
            while i < len(TEXT):
                n = sizes[(i // 4) % 3]
                send(ws, "input_text.append", text=TEXT[i:i + n])
                i += n
                time.sleep(0.03)
            sent["input_end"] = time.monotonic()
            send(ws, "input_text.end")
        except ConnectionClosed:  # the session reached its bound and ended first
            sent["closed_early"] = True

    with open_session(server, seed=7, max_audio_duration_ms=bound) as (ws, started):
        assert started["seed"] == 7 and started["sample_rate"] == 24000 and started["response_format"] == "pcm"
        writer = threading.Thread(target=llm, args=(ws,))
        writer.start()
        turn = read_turn(ws)
        code, reason, _ = closed(ws)
        writer.join(30)
    assert turn.first_audio_at is not None
    assert "input_end" not in sent or turn.first_audio_at < sent["input_end"], "no audio before the input ended"
    assert turn.done["ending"] == "max_duration" and not turn.done["cancelled"]
    assert (code, reason) == (1000, "max_audio_duration_ms reached")

    dry = synthesize(stub, request(TEXT, dry_run=True), metadata=AUTH).ok()
    assert turn.segments and [(s["source_start"], s["source_end"], s["text"]) for s in turn.segments] == \
        [(g.source_start, g.source_end, g.text) for g in dry.segments][:len(turn.segments)]
    whole = synthesize(stub, request(TEXT, voice=VOICE, seed=7, max_audio_duration_ms=bound, format=(PCM, 24000)),
                       metadata=AUTH, timeout=120).ok()
    assert len(turn.audio) == bound * 24 * 2 and bytes(turn.audio) == whole.audio
    assert turn.done["usage"]["output_tokens"] == 30 and 0 < turn.done["usage"]["input_tokens"] <= len(TEXT)


def test_flush_speaks_a_partial_sentence_while_the_input_is_open(server):
    partial = "Here comes a sentence that stops in the middle of"
    with open_session(server, seed=4, max_audio_duration_ms=1600) as (ws, _):
        send(ws, "input_text.append", text=partial)
        send(ws, "input_text.flush")
        turn = read_turn(ws, until=lambda t: len(t.audio) > 0)  # spoken now, the turn still open
        assert turn.segments[0]["text"] == partial and turn.segments[0]["source_end"] == len(partial)
        send(ws, "input_text.append", text=" nowhere.")
        send(ws, "input_text.end")
        rest = read_turn(ws)
        assert rest.done["ending"] == "max_duration" and len(turn.audio) + len(rest.audio) == 1600 * 48
        assert closed(ws)[0] == 1000


def test_cancel_stops_the_audio_and_the_next_turn_on_the_same_socket_is_spoken(server):
    with open_session(server, seed=0, max_audio_duration_ms=120_000) as (ws, _):
        send(ws, "input_text.append", text=LONG)
        send(ws, "input_text.end")
        send(ws, "input_text.append", text="Too early.", event_id="e1")  # the turn was ended: refused, it goes on
        ws.send(b"\x00\x01")  # a binary frame: refused, it goes on
        send(ws, "input_text.shout", text="?")  # an unknown type: refused, it goes on
        first = read_turn(ws, until=lambda t: len(t.audio) > 0 and len(t.errors) == 3)
        early, binary, unknown = first.errors
        assert (early["param"], early["code"], early["event_id"]) == ("text", "invalid_value", "e1")
        assert "turn was ended" in early["message"]
        assert binary["param"] == "message" and unknown["param"] == "type"

        send(ws, "response.cancel")
        cancelled_at = time.monotonic()
        rest = read_turn(ws, timeout=60)
        assert rest.done["cancelled"] and rest.done["ending"] == "cancelled"
        # the audio stops at the next step: what comes after the cancel was already in flight (at most the
        # flow-control credit of 25 frames), and the turn ends long before LONG's runaway guard
        assert len(rest.audio) <= 26 * 3840, len(rest.audio)
        assert rest.done["usage"]["audio_seconds"] < 20 and time.monotonic() - cancelled_at < 30

        send(ws, "input_text.append", text="Next turn.")
        send(ws, "input_text.end")
        nxt = read_turn(ws)
    assert [s["text"] for s in nxt.segments] == ["Next turn."] and nxt.segments[0]["start_sample"] == 0
    assert nxt.done["ending"] == "end_of_speech" and not nxt.done["cancelled"] and len(nxt.audio) > 0
    assert nxt.done["usage"]["input_tokens"] == len("Next turn.")
    assert nxt.segments[0]["index"] > max(s["index"] for s in first.segments)  # indices run on across turns


def test_a_client_that_leaves_mid_turn_frees_its_slot(server):
    before = scrape(server)
    with open_session(server, seed=0, max_audio_duration_ms=120_000) as (ws, _):
        send(ws, "input_text.append", text=LONG)
        send(ws, "input_text.end")
        read_turn(ws, until=lambda t: len(t.audio) > 0)
    wait_for(lambda: scrape(server).get("qwen3tts_requests_cancelled_total", door="websocket", reason="client")
             == before.get("qwen3tts_requests_cancelled_total", door="websocket", reason="client") + 1, 30,
             what="the cancel counted")
    wait_for(lambda: scrape(server).get("qwen3tts_requests_running") == 0, 30, what="the slot freed")
    after = scrape(server)
    key = {"door": "websocket", "method": "StreamingSynthesize"}
    assert after.get("qwen3tts_requests_total", code="CANCELLED", **key) == \
        before.get("qwen3tts_requests_total", code="CANCELLED", **key) + 1
    assert after.get("qwen3tts_requests_total", code="OK", **key) >= 1  # the sessions of the tests above


# ------------------------------------------------------------------ refusals
def refused(server, *messages, token: str | None = TOKEN) -> tuple[int, str, list]:
    """Send `messages` (dicts as JSON, str as they are) on a new socket; (close code, reason, events)."""
    with speech_socket(server, token=token) as ws:
        for msg in messages:
            ws.send(json.dumps(msg) if isinstance(msg, dict) else msg)
        return closed(ws)


def test_a_bad_session_config_is_refused_before_any_text(server):
    for config, param in [({"voice": "nobody"}, "voice"), ({"response_format": "ogg"}, "response_format"),
                          ({"input": "text belongs in deltas"}, "input"), ({"sampling": {"top_p": 7}}, "sampling.top_p")]:
        code, _, events = refused(server, {"type": "session.config", **config})
        assert code == 4400 and [e["error"]["param"] for e in events] == [param], (config, events)
    code, _, events = refused(server, {"type": "input_text.append", "text": "no config first"})
    assert code == 4400 and events[0]["error"]["param"] == "type"
    code, _, events = refused(server, "not json")
    assert code == 4400 and events[0]["error"]["param"] == "message"


def test_auth_header_or_config_token(server):
    before = scrape(server)
    with pytest.raises(InvalidStatus) as e:  # a wrong header: refused at the upgrade, as any HTTP request
        speech_socket(server, token="wrong")
    assert e.value.response.status_code == 401
    assert json.loads(e.value.response.body)["error"]["code"] == "invalid_token"
    for token, code in [(None, "missing_token"), ("wrong", "invalid_token")]:
        # no header (a browser): the token must come in session.config
        close_code, reason, events = refused(server, {"type": "session.config", **({"token": token} if token else {})},
                                             token=None)
        assert (close_code, reason) == (4401, code) and events[0]["error"]["code"] == code
    with speech_socket(server) as ws:
        send(ws, "session.config", token=TOKEN, response_format="pcm")
        assert json.loads(ws.recv(timeout=60))["type"] == "session.started"
    after = scrape(server)
    assert after.get("qwen3tts_requests_rejected_total", door="websocket", reason="unauthenticated") == \
        before.get("qwen3tts_requests_rejected_total", door="websocket", reason="unauthenticated") + 3


def test_a_browser_page_from_a_foreign_origin_is_refused(server):
    with pytest.raises(InvalidStatus) as e:
        speech_socket(server, token=TOKEN, origin="https://elsewhere.example")
    assert e.value.response.status_code == 403
    with speech_socket(server, token=TOKEN, origin=ALLOWED_ORIGIN):  # --cors-origins lets it in
        pass
    with speech_socket(server, token=TOKEN, origin=server.http_url):  # the server's own pages (the playground)
        pass


def test_a_turn_over_the_text_limit_ends_the_session(server):
    with open_session(server) as (ws, _):
        send(ws, "input_text.append", text="word " * 300)
        send(ws, "input_text.append", text="word " * 300)  # the turn passes --max-text-chars
        code, reason, events = closed(ws)
    assert (code, reason) == (4429, "text_limit") and events[-1]["error"]["param"] == "text"


def test_an_idle_session_is_closed(server):
    with open_session(server) as (ws, _):
        t0 = time.monotonic()
        code, reason, events = closed(ws)
        waited = time.monotonic() - t0
    assert (code, reason) == (4504, "session_idle_timeout") and IDLE_TIMEOUT_S - 0.5 < waited < IDLE_TIMEOUT_S + 10
    assert events[-1]["error"]["code"] == "session_idle_timeout"


# ------------------------------------------------------------------ last: the drain (stops the module's server)
def test_sigterm_closes_an_idle_socket_with_going_away(server):
    with open_session(server) as (ws, _):
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        code, reason, _ = closed(ws)
        stopper.join(60)
    assert (code, reason) == (1001, "the server is shutting down")
    assert server.proc.returncode == 0
