"""Bearer-token authentication: the token set and header parsing every door shares, and the grpc.aio interceptor.

The HTTP door (server/doors/http.py) checks the same `TokenSet` with the same `bearer` parsing on its
`Authorization` header and answers 401 with the same reasons.

Clients send `authorization: Bearer <token>` metadata (the scheme is case-insensitive, RFC 6750). Tokens come
from a file, one per line (blank lines and lines starting with '#' are ignored, surrounding whitespace is
stripped). Every accepted token is compared with `hmac.compare_digest`, all of them on every call, so the
time taken does not depend on which token (or how much of one) matched.

Exempt (no token needed): health checking (`/grpc.health.v1.Health/*`: kubelet probes send no credentials) and
server reflection (`/grpc.reflection.v1alpha.ServerReflection/*` and `v1`: grpcurl/buf curl fall back to v1alpha
only on UNIMPLEMENTED, see docs/api.md).

Rejection: UNAUTHENTICATED with a google.rpc.ErrorInfo detail (domain "qwen3tts", reason MISSING_TOKEN |
INVALID_TOKEN | MALFORMED_AUTHORIZATION). The replacement handler has the cardinality of the method it replaces
(unary-stream for Synthesize), so the client sees a proper status, not an internal error.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "qwen3tts"
EXEMPT_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def parse_tokens(text: str) -> list[str]:
    """Tokens in a token file's text; ValueError for a line with inner whitespace (a pasted header, say)."""
    tokens: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if any(c.isspace() for c in line):
            raise ValueError(f"line {n}: a token must not contain whitespace")
        if not line.isprintable() or not line.isascii():
            raise ValueError(f"line {n}: a token must be printable ASCII")
        tokens.append(line)
    return tokens


def load_tokens(path: str | Path) -> list[str]:
    """Tokens of a token file (see module docstring); ValueError if it holds none."""
    tokens = parse_tokens(Path(path).read_text(encoding="utf-8"))
    if not tokens:
        raise ValueError(f"{path}: no token found")
    return tokens


class TokenSet:
    """The accepted tokens; `check` compares a presented one with all of them in constant time."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens: tuple[bytes, ...] = ()
        self.set(tokens)

    def set(self, tokens: Iterable[str]) -> None:
        encoded = tuple(t.encode("utf-8") for t in tokens if t)
        if not encoded:
            raise ValueError("at least one token is required")
        self._tokens = encoded

    def is_valid(self, token: str) -> bool:
        presented = token.encode("utf-8")
        ok = False
        for accepted in self._tokens:  # no early exit: constant work whichever token matches
            ok |= hmac.compare_digest(presented, accepted)
        return ok

    def check(self, values: list[str | bytes]) -> str | None:
        """None if the authorization values (all the request carried) hold a valid token, else the reason
        (MISSING_TOKEN | MALFORMED_AUTHORIZATION | INVALID_TOKEN)."""
        token, reason = bearer(values)
        if token is None:
            return reason
        return None if self.is_valid(token) else "INVALID_TOKEN"


def bearer(values: list[str | bytes]) -> tuple[str | None, str]:
    """(token, reason): the bearer token presented in the authorization values, or None and why not."""
    if not values:
        return None, "MISSING_TOKEN"
    value = values[0]
    if isinstance(value, bytes) or len(values) > 1:
        return None, "MALFORMED_AUTHORIZATION"
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None, "MALFORMED_AUTHORIZATION"
    return token, ""


def _bearer(metadata: Iterable[tuple[str, str | bytes]] | None) -> tuple[str | None, str]:
    return bearer([v for k, v in (metadata or ()) if k == "authorization"])


MESSAGES = {
    "MISSING_TOKEN": "missing 'authorization: Bearer <token>' metadata",
    "MALFORMED_AUTHORIZATION": "the authorization metadata must be 'Bearer <token>'",
    "INVALID_TOKEN": "invalid token",
}


def _rejection(reason: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)
    detail = any_pb2.Any()
    detail.Pack(info)
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=MESSAGES[reason],
                                                  details=[detail]))


def _abort_handler(handler: grpc.RpcMethodHandler, status: grpc.Status) -> grpc.RpcMethodHandler:
    """A handler of the same cardinality (and (de)serializers) that aborts with `status`."""

    async def abort(_request_or_iterator, context: grpc.aio.ServicerContext) -> None:
        await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)

    async def abort_stream(_request_or_iterator, context: grpc.aio.ServicerContext):
        await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
        yield  # pragma: no cover  (makes this an async generator, as streaming handlers are)

    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(abort, **kwargs)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Rejects calls without a valid bearer token with UNAUTHENTICATED (health and reflection exempt).

    `on_reject(method, reason)` is called for every rejection (e.g. to count it in metrics).
    """

    def __init__(self, tokens: Iterable[str], exempt_prefixes: Iterable[str] = EXEMPT_PREFIXES,
                 on_reject: Callable[[str, str], None] | None = None) -> None:
        self.tokens = TokenSet(tokens)
        self._exempt = tuple(exempt_prefixes)
        self._on_reject = on_reject

    def set_tokens(self, tokens: Iterable[str]) -> None:
        """Replace the accepted tokens (e.g. after the token file was rotated)."""
        self.tokens.set(tokens)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> BearerTokenInterceptor:
        return cls(load_tokens(path), **kwargs)

    def is_valid(self, token: str) -> bool:
        return self.tokens.is_valid(token)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method or ""
        if method.startswith(self._exempt):
            return await continuation(handler_call_details)
        token, reason = _bearer(handler_call_details.invocation_metadata)
        if token is not None:
            if self.is_valid(token):
                return await continuation(handler_call_details)
            reason = "INVALID_TOKEN"
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: let gRPC answer UNIMPLEMENTED
            return None
        if self._on_reject is not None:
            self._on_reject(method, reason)
        return _abort_handler(handler, _rejection(reason))
