"""How a client reaches the server: the channel (plaintext or TLS) and the metadata sent with every call.

Both clients (sync and asyncio) share this; only the channel constructor differs (grpc vs grpc.aio).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc

DEFAULT_TARGET = "localhost:50051"
# The server's rule for x-request-id (docs/api.md): printable ASCII without spaces, at most 128 characters.
# An invalid id would be silently replaced by the server, and our errors would then name the wrong one.
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
# A fixed (small) receive window: the server generates audio only as far ahead of us as its credit plus this
# window allow, so a caller that stops reading pauses its own generation within ~64 KB instead of ~4 MB (with
# BDP probing the window grows to megabytes; measured in tests/server/test_e2e_load.py).
CHANNEL_OPTIONS = [("grpc.http2.bdp_probe", 0)]


def check_request_id(request_id: str) -> str:
    if not _REQUEST_ID_RE.match(request_id):
        raise ValueError(f"request_id {request_id!r} must be 1 to 128 printable ASCII characters without spaces")
    return request_id


def new_request_id() -> str:
    """A fresh id per call, so that even a call the server rejects before logging has an id the caller knows."""
    return uuid.uuid4().hex


def _pem(value: bytes | str | Path | None) -> bytes | None:
    """PEM bytes as given, or read from a path."""
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).expanduser().read_bytes()


@dataclass(frozen=True)
class Connection:
    """Where and how to connect, and the per-client defaults of every call."""

    target: str = DEFAULT_TARGET
    token: str | None = None
    tls: bool = False
    root_certificates: bytes | None = None  # PEM CA bundle; None: the system roots
    timeout: float | None = None  # default deadline of every call, seconds
    request_id: str | None = None  # fixed x-request-id for every call (default: a fresh one per call)

    @classmethod
    def create(cls, target: str, token: str | None, tls: bool, root_certificates: bytes | str | Path | None,
               timeout: float | None, request_id: str | None) -> Connection:
        if request_id is not None:
            check_request_id(request_id)
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be non-empty and contain no whitespace")
        roots = _pem(root_certificates)
        # A CA bundle only makes sense with TLS: giving one turns TLS on rather than being silently ignored.
        return cls(target, token, tls or roots is not None, roots, timeout, request_id)

    def credentials(self) -> grpc.ChannelCredentials | None:
        return grpc.ssl_channel_credentials(root_certificates=self.root_certificates) if self.tls else None

    def channel(self) -> grpc.Channel:
        creds = self.credentials()
        if creds:
            return grpc.secure_channel(self.target, creds, options=CHANNEL_OPTIONS)
        return grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS)

    def aio_channel(self) -> grpc.aio.Channel:
        creds = self.credentials()
        if creds:
            return grpc.aio.secure_channel(self.target, creds, options=CHANNEL_OPTIONS)
        return grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)

    def call_options(self, timeout: float | None, request_id: str | None) -> tuple[float | None, str, tuple]:
        """(timeout, request id, metadata) of one call: per-call values override the client's defaults."""
        rid = check_request_id(request_id) if request_id is not None else self.request_id or new_request_id()
        metadata: list[tuple[str, str]] = [("x-request-id", rid)]
        if self.token:
            metadata.append(("authorization", f"Bearer {self.token}"))
        return (timeout if timeout is not None else self.timeout), rid, tuple(metadata)
