"""Fixtures of the end-to-end tests: the shared server of the default configuration.

The tiny CustomVoice checkpoint served with `--max-batch 2` (two slots: a non-trivial decode batch shape, so
the offline bit-exactness check uses `--max-batch 2` too) is used by several test_e2e_* modules; its HTTP API is
open too (with two voice aliases), for the HTTP door's tests. It is
started once per session (not per module) to keep the end-to-end set inside its time budget; tests on it
must leave it serving (destructive tests start their own server).
"""

from __future__ import annotations

import pytest

from tests.e2e import running_server

CV_MAX_BATCH = 2
CV_ALIASES = {"alloy": "vivian", "echo": "ryan"}


@pytest.fixture(scope="session")
def cv_server(make_ckpt):
    # The limits of the tests' requests (and of GetServiceInfo's expected values), not the defaults.
    aliases = ",".join(f"{a}={v}" for a, v in CV_ALIASES.items())
    with running_server(make_ckpt("tiny"), "--max-batch", str(CV_MAX_BATCH), "--max-text-chars", "5000",
                        "--max-audio-seconds", "300", "--voice-aliases", aliases, http=True) as server:
        yield server


@pytest.fixture(scope="session")
def cv_channel(cv_server):
    channel = cv_server.channel()
    yield channel
    channel.close()


@pytest.fixture(scope="session")
def cv_stub(cv_channel):
    from qwen3tts.v1 import tts_pb2_grpc

    return tts_pb2_grpc.TextToSpeechServiceStub(cv_channel)
