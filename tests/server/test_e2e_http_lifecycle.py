"""End to end, the HTTP door's life in the server's: /health answers at once, /ready and speech say 503 with
Retry-After until the worker is warm; on SIGTERM /ready turns 503, new speech is refused with 503 SHUTTING_DOWN
while an HTTP stream in flight completes within the grace period, and the process exits 0. The test owns its
server (it ends it)."""

from __future__ import annotations

import signal
import threading
import time

from tests.e2e import LONG_SEED, LONG_TEXT, TEXT, ServerProcess, http_request, wait_for


def test_http_readiness_and_a_graceful_sigterm(make_ckpt):
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
