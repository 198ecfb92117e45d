"""Real servers for the client tests (tests/e2e.py: `python -m server`, real worker processes),
started once for the whole tests/client package and stopped after its last test.

- `cv_server`: the tiny CustomVoice checkpoint behind a bearer token (`--auth-token-file`), so every test
  also exercises the client's authorization metadata; `TOKEN` is the accepted token.
- `base_server`: the tiny Base checkpoint (voice cloning) over TLS with a self-signed certificate for
  127.0.0.1 (`tls_cert` is its path), so the TLS options are exercised too. Plaintext if openssl is missing.

Use them through `cv` / `base`, which first wait until the server is SERVING again: a test may kill a worker
(it restarts in a few seconds) and the next test must not see the restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2

from tests.e2e import ServerProcess, running_server, self_signed_cert
from tests.reference_signals import voice_like

TOKEN = "client-tests-token"
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="package")
def cv_server(make_ckpt, tmp_path_factory) -> Iterator[ServerProcess]:
    tokens = tmp_path_factory.mktemp("client-auth") / "tokens.txt"
    tokens.write_text(f"# accepted tokens\n{TOKEN}\n")
    with running_server(make_ckpt("tiny"), "--max-batch", "2", "--max-text-chars", "5000", "--auth-token-file", str(tokens),
                        metrics=False) as server:
        yield server


@pytest.fixture(scope="package")
def tls_cert(tmp_path_factory) -> tuple[Path, Path] | None:
    """(certificate, key) of a self-signed certificate for 127.0.0.1 and localhost; None without openssl."""
    return self_signed_cert(tmp_path_factory.mktemp("client-tls"))


@pytest.fixture(scope="package")
def base_server(make_ckpt, tls_cert) -> Iterator[ServerProcess]:
    args, kwargs = [], {}
    if tls_cert is not None:
        cert, key = tls_cert
        args = ["--tls-cert", str(cert), "--tls-key", str(key)]
        kwargs = {"credentials": grpc.ssl_channel_credentials(cert.read_bytes())}
    with running_server(make_ckpt("tiny-base"), "--max-batch", "2", *args, metrics=False, **kwargs) as server:
        yield server


@pytest.fixture
def cv(cv_server: ServerProcess) -> ServerProcess:
    cv_server.wait_health(SERVING, 60)
    return cv_server


@pytest.fixture
def base(base_server: ServerProcess) -> ServerProcess:
    base_server.wait_health(SERVING, 60)
    return base_server


@pytest.fixture
def base_tls(tls_cert) -> dict:
    """TTSClient keyword arguments for base_server's transport."""
    return {"root_certificates": tls_cert[0]} if tls_cert else {}


@pytest.fixture(scope="package")
def reference_wav(tmp_path_factory) -> Path:
    """4 s of voice-like audio at 24 kHz (16-bit WAV): reference audio for voice registration."""
    path = tmp_path_factory.mktemp("client-ref") / "reference.wav"
    sf.write(path, voice_like(seed=11, sample_rate=24000, seconds=4.0), 24000, subtype="PCM_16")
    return path
