"""Every failure a client can see, mapped to its gRPC status in one place (docs/api.md, serving.md §3).

Handlers raise `ServiceError`; `abort()` turns it into the status with google.rpc details (BadRequest naming
the fields, RetryInfo, ErrorInfo). Anything else is INTERNAL with a sanitised message (the traceback goes to
the log with the request id), never UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.auth import ERROR_DOMAIN


@dataclass
class ServiceError(Exception):
    code: grpc.StatusCode
    message: str
    violations: list[tuple[str, str]] = field(default_factory=list)  # (field, description) -> BadRequest
    reason: str | None = None  # ErrorInfo reason
    retry_after_s: float | None = None  # RetryInfo

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


def invalid(violations: list[tuple[str, str]]) -> ServiceError:
    text = "; ".join(f"{f}: {d}" for f, d in violations)
    return ServiceError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid request: {text}", violations)


def unavailable(message: str, reason: str, retry_after_s: float = 1.0) -> ServiceError:
    return ServiceError(grpc.StatusCode.UNAVAILABLE, message, reason=reason, retry_after_s=retry_after_s)


def internal(message: str = "internal error; the server log has details under this request id") -> ServiceError:
    return ServiceError(grpc.StatusCode.INTERNAL, message, reason="INTERNAL")


def to_status(err: ServiceError) -> grpc.Status:
    details = []
    if err.violations:
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in err.violations]))
    if err.retry_after_s is not None:
        secs = int(err.retry_after_s)
        details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
            seconds=secs, nanos=int((err.retry_after_s - secs) * 1e9))))
    if err.reason:
        details.append(error_details_pb2.ErrorInfo(reason=err.reason, domain=ERROR_DOMAIN))
    packed = []
    for d in details:
        a = any_pb2.Any()
        a.Pack(d)
        packed.append(a)
    return rpc_status.to_status(status_pb2.Status(code=err.code.value[0], message=err.message, details=packed))


async def abort(context: grpc.aio.ServicerContext, err: ServiceError) -> None:
    status = to_status(err)
    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
