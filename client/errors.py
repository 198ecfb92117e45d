"""Typed errors: every failed call raises a `TTSError` subclass chosen by its gRPC status code.

The server attaches google.rpc details (docs/api.md): BadRequest names the bad request fields, RetryInfo says
when to retry, ErrorInfo gives a machine-readable reason (QUEUE_FULL, WORKER_RESTART, INVALID_TOKEN, ...).
They are decoded here once, so callers read attributes instead of parsing trailing metadata.

A Synthesize stream can fail after audio was sent; the error then carries `chunks_received > 0`
(`partial_audio` is True) and that audio is incomplete: discard it (the API contract), retry if appropriate.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class FieldViolation(NamedTuple):
    """One bad request field, as google.rpc.BadRequest names it (e.g. "sampling.top_p")."""

    field: str
    description: str


class TTSError(Exception):
    """A call that did not succeed.

    code: the gRPC status code (None for `ProtocolError`, where the status was OK but the stream was not).
    request_id: the x-request-id this call was sent with (the server logs it too).
    details: the decoded google.rpc detail messages (BadRequest, RetryInfo, ErrorInfo, ...).
    reason / domain: from google.rpc.ErrorInfo, when the server sent one.
    retry_after: seconds, from google.rpc.RetryInfo, when the server sent one.
    chunks_received: audio chunks of this Synthesize call delivered before it failed (0 for unary calls).
    """

    def __init__(self, code: grpc.StatusCode | None, message: str, request_id: str | None = None,
                 details: tuple[Any, ...] = (), *, chunks_received: int = 0) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id, self.details = code, message, request_id, tuple(details)
        self.chunks_received = chunks_received
        info = _first(details, error_details_pb2.ErrorInfo)
        self.reason: str | None = info.reason if info else None
        self.domain: str | None = info.domain if info else None
        retry = _first(details, error_details_pb2.RetryInfo)
        self.retry_after: float | None = retry.retry_delay.ToNanoseconds() / 1e9 if retry else None

    @property
    def partial_audio(self) -> bool:
        """True if some audio of the failed stream was delivered (it is incomplete)."""
        return self.chunks_received > 0

    @property
    def retryable(self) -> bool:
        """True if the same request may succeed later (or on another replica)."""
        return False

    def __str__(self) -> str:
        name = self.code.name if self.code is not None else "PROTOCOL_ERROR"
        text = f"{name}: {self.message}"
        extra = [f"reason {self.reason}"] if self.reason else []
        if self.retry_after is not None:
            extra.append(f"retry after {self.retry_after:g} s")
        if extra:
            text += f" ({', '.join(extra)})"
        if self.partial_audio:
            text += f" (after {self.chunks_received} audio chunks: the audio is incomplete)"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class InvalidArgument(TTSError):
    """INVALID_ARGUMENT: the request content; `field_violations` names each bad field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bad = _first(self.details, error_details_pb2.BadRequest)
        self.field_violations: list[FieldViolation] = (
            [FieldViolation(v.field, v.description) for v in bad.field_violations] if bad else [])


class Unavailable(TTSError):
    """UNAVAILABLE: queue full, queue timeout, model loading, shutting down, worker restart, or unreachable.

    `reason` (QUEUE_FULL, QUEUE_TIMEOUT, NOT_READY, SHUTTING_DOWN, WORKER_RESTART, ...) and `retry_after` come
    from the server; both are None when the server could not be reached at all."""

    @property
    def retryable(self) -> bool:
        return True


class Unauthenticated(TTSError):
    """UNAUTHENTICATED: missing or invalid bearer token (`reason`: MISSING_TOKEN, INVALID_TOKEN, ...)."""


class DeadlineExceeded(TTSError):
    """DEADLINE_EXCEEDED: the call's timeout passed before it completed."""


class NotFound(TTSError):
    """NOT_FOUND: e.g. deleting a voice that is not registered."""


class AlreadyExists(TTSError):
    """ALREADY_EXISTS: e.g. registering a voice under a name that is taken."""


class FailedPrecondition(TTSError):
    """FAILED_PRECONDITION: e.g. voice cloning on a checkpoint that cannot clone."""


class ResourceExhausted(TTSError):
    """RESOURCE_EXHAUSTED: e.g. a request larger than the server's maximum message size."""


class Cancelled(TTSError):
    """CANCELLED: the call was cancelled (by `cancel()`, or by the server)."""


class Internal(TTSError):
    """INTERNAL: an unexpected server failure; the server log has details under the request id."""


class ProtocolError(TTSError):
    """The server broke the API contract (events out of order, a missing `finished`, an unknown enum value)."""

    def __init__(self, message: str, request_id: str | None = None, *, chunks_received: int = 0) -> None:
        super().__init__(None, message, request_id, chunks_received=chunks_received)


_BY_CODE: dict[grpc.StatusCode, type[TTSError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: Internal,
}

# The detail types the server sends; others stay packed (google.protobuf.Any).
_DETAIL_TYPES = (error_details_pb2.BadRequest, error_details_pb2.RetryInfo, error_details_pb2.ErrorInfo,
                 error_details_pb2.DebugInfo, error_details_pb2.ResourceInfo, error_details_pb2.QuotaFailure,
                 error_details_pb2.PreconditionFailure, error_details_pb2.LocalizedMessage)


def error_class(code: grpc.StatusCode | None) -> type[TTSError]:
    return _BY_CODE.get(code, TTSError) if code is not None else ProtocolError


def make_error(code: grpc.StatusCode, message: str, request_id: str | None = None, details: tuple[Any, ...] = (),
               *, chunks_received: int = 0) -> TTSError:
    """The typed error for a status code (also used by the in-process engine, which has no RpcError)."""
    return error_class(code)(code, message, request_id, details, chunks_received=chunks_received)


def from_rpc_error(error: grpc.RpcError, request_id: str | None = None, *, chunks_received: int = 0) -> TTSError:
    """The typed error for a failed call (sync `grpc.RpcError` or `grpc.aio.AioRpcError`)."""
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    message = error.details() if callable(getattr(error, "details", None)) else str(error)
    return make_error(code, message or "", request_id, _details(error), chunks_received=chunks_received)


def _details(error: grpc.RpcError) -> tuple[Any, ...]:
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError, TypeError):  # inconsistent or unreadable status: keep the code only
        return ()
    if status is None:
        return ()
    out = []
    for packed in status.details:
        for cls in _DETAIL_TYPES:
            if packed.Is(cls.DESCRIPTOR):
                message = cls()
                packed.Unpack(message)
                out.append(message)
                break
        else:
            out.append(packed)
    return tuple(out)


def _first(details: tuple[Any, ...], cls: type) -> Any:
    return next((d for d in details if isinstance(d, cls)), None)
