"""Fixtures of the reliability suites: the hardened server the fuzz and security tests share.

`hardened` is the real server (tests/e2e.py) on the tiny Base checkpoint (voice cloning, so RegisterVoice and
DeleteVoice reach the worker), with both doors, a voice store on disk and a token file with scoped tokens; the
voice `fuzzvoice` is registered, so that fuzzed requests naming it reach the engine and the encoders. Tests on it
must leave it serving; `assert_unharmed` (called at the end of each module that uses it) checks that its workers
never restarted and that it still speaks.

FUZZ_EXAMPLES (environment) sets the examples per fuzz test: small by default (`make test`), large in `make fuzz`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import soundfile as sf

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import ServerProcess, scrape, synthesize
from tests.reference_signals import voice_like
from tests.reliability.fuzz_messages import VOICE

ADMIN, SYNTH = "rel-admin-token-1", "rel-synth-token-2"
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


def wav(seconds: float = 3.0, rate: int = 24000, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, voice_like(seed, rate, seconds), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def md(token: str = ADMIN) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class Hardened:
    server: ServerProcess
    store: Path
    channel: grpc.Channel
    stub: tts_pb2_grpc.TextToSpeechServiceStub
    workers: list[int]
    sent: dict[str, int] = field(default_factory=dict)  # requests sent, per suite

    def count(self, suite: str, n: int = 1) -> None:
        self.sent[suite] = self.sent.get(suite, 0) + n

    def assert_unharmed(self) -> None:
        """No worker restarted (same pids, no restart counted) and a real request still gets its audio."""
        assert self.server.proc.poll() is None, "the server exited"
        assert self.server.worker_pids() == self.workers, "a worker was replaced"
        assert scrape(self.server).total("qwen3tts_worker_restarts_total") == 0
        out = synthesize(self.stub, text="Still here.", voice=VOICE, metadata=md()).ok()
        assert len(out.audio) > 0


@pytest.fixture(scope="session")
def hardened(make_ckpt, tmp_path_factory):
    base = tmp_path_factory.mktemp("hardened")
    tokens = base / "tokens"
    tokens.write_text(f"# scoped tokens\n{ADMIN} admin\n{SYNTH} synthesize\n")
    store = base / "voices"
    server = ServerProcess(make_ckpt("tiny-base"), "--max-batch", "4", "--voice-store", str(store),
                           "--auth-token-file", str(tokens), "--max-text-chars", "5000", "--max-audio-seconds", "60",
                           "--max-queue", "16", "--queue-timeout", "20", http=True)
    server.start()
    try:
        channel = server.channel()
        stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
        stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(name=VOICE, reference_audio=wav(), x_vector_only=True),
                           metadata=md(), timeout=120)
        yield Hardened(server, store, channel, stub, server.worker_pids())
        channel.close()
    finally:
        server.stop()
