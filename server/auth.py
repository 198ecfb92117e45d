"""Bearer-token authentication: the token set and header parsing every door shares, and the grpc.aio interceptor.

The HTTP door (server/doors/http.py) checks the same `TokenSet` with the same `bearer` parsing on its
`Authorization` header and answers 401 with the same reasons.

Clients send `authorization: Bearer <token>` metadata (the scheme is case-insensitive, RFC 6750). Tokens come
from a file, one per line (blank lines and lines starting with '#' are ignored, surrounding whitespace is
stripped): `TOKEN` (every scope) or `TOKEN SCOPE[,SCOPE]`. Scopes: `synthesize` (speech, list voices, service
info) and `admin` (also register and delete voices). Every accepted token is compared with
`hmac.compare_digest`, all of them on every call, so the time taken does not depend on which token (or how much
of one) matched.

`TokenSet.authorize(values, operation)` is the one check both doors call (and the WebSocket door will): the
operation is named as the gRPC method is (`Synthesize`, `RegisterVoice`, ...), `SCOPE_OF` says which scope it
needs. A valid token without that scope gets PERMISSION_DENIED (HTTP 403), reason INSUFFICIENT_SCOPE. Nothing
here logs a token.

Exempt (no token needed): health checking (`/grpc.health.v1.Health/*`: kubelet probes send no credentials) and
server reflection (`/grpc.reflection.v1alpha.ServerReflection/*` and `v1`: grpcurl/buf curl fall back to v1alpha
only on UNIMPLEMENTED, see docs/api.md).

Rejection: UNAUTHENTICATED with a google.rpc.ErrorInfo detail (domain "qwen3tts", reason MISSING_TOKEN |
INVALID_TOKEN | MALFORMED_AUTHORIZATION), or PERMISSION_DENIED (reason INSUFFICIENT_SCOPE). The replacement handler has the cardinality of the method it replaces
(unary-stream for Synthesize), so the client sees a proper status, not an internal error.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
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


SYNTHESIZE, ADMIN = "synthesize", "admin"
SCOPES = (SYNTHESIZE, ADMIN)
# What each operation needs (gRPC method names; the HTTP door maps its routes to the same names). An operation
# not listed needs ADMIN: a new RPC is closed until someone decides otherwise.
SCOPE_OF = {"Synthesize": SYNTHESIZE, "StreamingSynthesize": SYNTHESIZE, "ListVoices": SYNTHESIZE,
            "GetServiceInfo": SYNTHESIZE, "RegisterVoice": ADMIN, "DeleteVoice": ADMIN}
# A scope includes the ones listed here.
IMPLIES = {ADMIN: frozenset({ADMIN, SYNTHESIZE}), SYNTHESIZE: frozenset({SYNTHESIZE})}


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str] = frozenset(SCOPES)


def parse_scoped_tokens(text: str) -> list[Token]:
    """Tokens (with scopes) in a token file's text; ValueError naming the line for anything else (a pasted
    `Bearer x` header, an unknown scope, non-ASCII)."""
    tokens: list[Token] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.isprintable() or not line.isascii():
            raise ValueError(f"line {n}: a token must be printable ASCII")
        parts = line.split()
        if len(parts) > 2:
            raise ValueError(f"line {n}: a token must not contain whitespace (TOKEN or TOKEN SCOPE[,SCOPE])")
        scopes: frozenset[str] = frozenset(SCOPES)
        if len(parts) == 2:
            named = [x for x in parts[1].split(",") if x]
            unknown = [x for x in named if x not in SCOPES]
            if unknown or not named:
                raise ValueError(f"line {n}: a token must not contain whitespace; after it only scopes may follow "
                                 f"({', '.join(SCOPES)}), comma-separated")
            scopes = frozenset().union(*(IMPLIES[x] for x in named))
        tokens.append(Token(parts[0], scopes))
    return tokens


def parse_tokens(text: str) -> list[str]:
    """The token values in a token file's text (see parse_scoped_tokens)."""
    return [t.value for t in parse_scoped_tokens(text)]


def load_scoped_tokens(path: str | Path) -> list[Token]:
    """Tokens of a token file (see module docstring); ValueError if it holds none."""
    tokens = parse_scoped_tokens(Path(path).read_text(encoding="utf-8"))
    if not tokens:
        raise ValueError(f"{path}: no token found")
    return tokens


def load_tokens(path: str | Path) -> list[str]:
    return [t.value for t in load_scoped_tokens(path)]


class TokenSet:
    """The accepted tokens; `authorize` compares a presented one with all of them in constant time."""

    def __init__(self, tokens: Iterable[str | Token]) -> None:
        self._tokens: tuple[tuple[bytes, frozenset[str]], ...] = ()
        self.set(tokens)

    def set(self, tokens: Iterable[str | Token]) -> None:
        """Replace the accepted tokens (a plain string has every scope)."""
        encoded = tuple((t.value.encode("utf-8"), t.scopes) if isinstance(t, Token) else (t.encode("utf-8"),
                                                                                             frozenset(SCOPES))
                        for t in tokens if (t.value if isinstance(t, Token) else t))
        if not encoded:
            raise ValueError("at least one token is required")
        self._tokens = encoded

    def scopes(self, token: str) -> frozenset[str] | None:
        """The scopes of `token`, None if it is not accepted."""
        presented = token.encode("utf-8")
        found: frozenset[str] | None = None
        for accepted, scopes in self._tokens:  # no early exit: constant work whichever token matches
            if hmac.compare_digest(presented, accepted):
                found = scopes
        return found

    def is_valid(self, token: str) -> bool:
        return self.scopes(token) is not None

    def authorize(self, values: list[str | bytes], operation: str) -> str | None:
        """The one check of every door: None if the authorization values (all the request carried) hold a valid
        token with the scope `operation` needs, else the reason (MISSING_TOKEN | MALFORMED_AUTHORIZATION |
        INVALID_TOKEN | INSUFFICIENT_SCOPE)."""
        token, reason = bearer(values)
        if token is None:
            return reason
        scopes = self.scopes(token)
        if scopes is None:
            return "INVALID_TOKEN"
        return None if SCOPE_OF.get(operation, ADMIN) in scopes else "INSUFFICIENT_SCOPE"


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


MESSAGES = {
    "MISSING_TOKEN": "missing 'authorization: Bearer <token>' metadata",
    "MALFORMED_AUTHORIZATION": "the authorization metadata must be 'Bearer <token>'",
    "INVALID_TOKEN": "invalid token",
    "INSUFFICIENT_SCOPE": "this token's scopes do not allow this operation (registering or deleting voices "
                          "needs an admin token)",
}


def _rejection(reason: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)
    detail = any_pb2.Any()
    detail.Pack(info)
    code = code_pb2.PERMISSION_DENIED if reason == "INSUFFICIENT_SCOPE" else code_pb2.UNAUTHENTICATED
    return rpc_status.to_status(status_pb2.Status(code=code, message=MESSAGES[reason], details=[detail]))


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

    def __init__(self, tokens: Iterable[str | Token], exempt_prefixes: Iterable[str] = EXEMPT_PREFIXES,
                 on_reject: Callable[[str, str], None] | None = None) -> None:
        self.tokens = TokenSet(tokens)
        self._exempt = tuple(exempt_prefixes)
        self._on_reject = on_reject

    def set_tokens(self, tokens: Iterable[str | Token]) -> None:
        """Replace the accepted tokens (e.g. after the token file was rotated)."""
        self.tokens.set(tokens)

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> BearerTokenInterceptor:
        return cls(load_scoped_tokens(path), **kwargs)

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
        values = [v for k, v in (handler_call_details.invocation_metadata or ()) if k == "authorization"]
        reason = self.tokens.authorize(values, method.rpartition("/")[2])
        if reason is None:
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: let gRPC answer UNIMPLEMENTED
            return None
        if self._on_reject is not None:
            self._on_reject(method, reason)
        return _abort_handler(handler, _rejection(reason))
