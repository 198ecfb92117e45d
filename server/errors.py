"""Every failure a client can see, as a transport-free value: a status, a message, the fields at fault.

Handlers raise `ServiceError`; each front door maps its `status` to its own wire in one place
(server/doors/grpc_errors.py for gRPC). `from_failure` is the one mapping of a worker's `FailureKind`. Anything
unexpected becomes INTERNAL with a sanitised message (the traceback goes to the log with the request id).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from contract.outcome import FailureKind
from contract.rules import Violation


class Status(enum.Enum):
    """The statuses the service uses, named as gRPC names them (each door maps them to its own codes)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAVAILABLE = "UNAVAILABLE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    CANCELLED = "CANCELLED"
    INTERNAL = "INTERNAL"


@dataclass
class ServiceError(Exception):
    status: Status
    message: str
    violations: list[Violation] = field(default_factory=list)  # the fields at fault (INVALID_ARGUMENT)
    reason: str | None = None  # a stable machine-readable reason (QUEUE_FULL, VOICE_EXISTS, ...)
    retry_after_s: float | None = None  # when a retry may succeed

    def __str__(self) -> str:
        return f"{self.status.name}: {self.message}"


def invalid(violations: list[Violation]) -> ServiceError:
    text = "; ".join(str(v) for v in violations)
    return ServiceError(Status.INVALID_ARGUMENT, f"invalid request: {text}", list(violations))


def unavailable(message: str, reason: str, retry_after_s: float = 1.0) -> ServiceError:
    return ServiceError(Status.UNAVAILABLE, message, reason=reason, retry_after_s=retry_after_s)


def internal(message: str = "internal error; the server log has details under this request id") -> ServiceError:
    return ServiceError(Status.INTERNAL, message, reason="INTERNAL")


def from_failure(kind: FailureKind, message: str, violations: list[Violation] | None = None) -> ServiceError:
    """A worker's failure (of a synthesis or a voice operation) as the client sees it."""
    match kind:
        case FailureKind.INVALID:
            return invalid(violations or [Violation("request", message)])
        case FailureKind.NOT_FOUND:
            return ServiceError(Status.NOT_FOUND, message, reason="VOICE_NOT_FOUND")
        case FailureKind.EXISTS:
            return ServiceError(Status.ALREADY_EXISTS, message, reason="VOICE_EXISTS")
        case FailureKind.UNSUPPORTED:
            return ServiceError(Status.FAILED_PRECONDITION, message, reason="CLONING_UNSUPPORTED")
        case FailureKind.VOICE_UNREADABLE:
            return ServiceError(Status.FAILED_PRECONDITION, message, reason="VOICE_UNAVAILABLE")
        case FailureKind.STORE_FULL:
            return ServiceError(Status.RESOURCE_EXHAUSTED, message, reason="VOICE_STORE_FULL")
        case FailureKind.WORKER_RESTARTED:
            return unavailable(f"{message}; any audio received is incomplete", "WORKER_RESTART", 2.0)
    return internal()
