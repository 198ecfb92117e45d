"""End to end, the HTTP door's life in the server's: /health answers at once, /ready and speech say 503 with
Retry-After until the worker is warm; a worker that dies mid-stream ends an audio body without its last chunk
(the client sees an incomplete body) and an SSE stream with an `error` event, then the worker is back; on
SIGTERM /ready turns 503, new speech is refused with 503 SHUTTING_DOWN while an HTTP stream in flight completes
within the grace period, and the process exits 0. The test owns its server (it ends it)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time

from tests.e2e import LONG_SEED, LONG_TEXT, TEXT, ServerProcess, http_request, wait_for


def _open_stream(server: ServerProcess, **fields) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
    body = {"input": LONG_TEXT, "voice": "serena", "seed": LONG_SEED, "max_audio_duration_ms": 0, **fields}
    conn.request("POST", "/v1/audio/speech", json.dumps(body), {"content-type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200
    assert r.read1(65536)  # audio is flowing
    return r


def _worker_crash(server: ServerProcess) -> None:
    audio = _open_stream(server, response_format="pcm")
    events = _open_stream(server, response_format="pcm", stream_format="sse")
    [pid] = server.worker_pids()
    os.kill(pid, signal.SIGKILL)
    try:  # the audio body stops without its last chunk: an incomplete body, never a clean end
        while audio.read1(65536):
            pass
        raise AssertionError("the audio body ended cleanly after the worker died")
    except http.client.IncompleteRead:
        pass
    rest = b""
    while chunk := events.read1(65536):
        rest += chunk
    last = json.loads(rest.rstrip(b"\n").rsplit(b"\n\n", 1)[-1].removeprefix(b"data: "))
    assert last["type"] == "error" and last["error"]["code"] == "worker_restart"
    assert b"speech.audio.done" not in rest
    wait_for(lambda: http_request(server, "GET", "/ready").status == 200, 120, 0.2, "the worker back")



def test_http_readiness_a_worker_crash_and_a_graceful_sigterm(make_ckpt):
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "2", "--grace-period", "60", metrics=False, http=True)
    try:
        server.start(wait_ready=False)
        listening = server.events("server.listening")[0]
        assert listening["http_port"] == server.http_port and listening["port"] == server.port
        assert http_request(server, "GET", "/health").status == 200
        ready = http_request(server, "GET", "/ready")
        assert ready.status == 503 and ready.headers["retry-after"] == "5"
        refused = http_request(server, "POST", "/v1/audio/speech", {"input": TEXT})
        assert refused.status == 503 and refused.json()["error"]["code"] == "not_ready"
        wait_for(lambda: http_request(server, "GET", "/ready").status == 200, 120, 0.2, "ready")
        _worker_crash(server)

        # a stream in flight (6 s of audio, a few seconds of work), read as it comes
        got: dict[str, object] = {}
        first = threading.Event()

        def stream():
            with server.openai() as client, client.audio.speech.with_streaming_response.create(
                    model="tts-1", input=LONG_TEXT, voice="serena", response_format="pcm",
                    extra_body={"seed": LONG_SEED, "max_audio_duration_ms": 6000}) as r:
                pieces = []
                for piece in r.iter_bytes():
                    pieces.append(piece)
                    first.set()
                got["pcm"] = b"".join(pieces)

        reader = threading.Thread(target=stream)
        reader.start()
        assert first.wait(60)
        sigterm = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: http_request(server, "GET", "/ready").status == 503, 10, 0.05, "draining")
        late = http_request(server, "POST", "/v1/audio/speech", {"input": TEXT})
        assert late.status == 503 and late.headers["retry-after"] == "1"
        assert late.json()["error"]["code"] == "shutting_down"
        reader.join(120)
        assert len(got["pcm"]) == 2 * 6000 * 24  # the stream in flight completed
        assert server.proc.wait(60) == 0
        assert time.monotonic() - sigterm < 30  # it exits when the drain is done, not at the end of the grace
    finally:
        server.stop()
