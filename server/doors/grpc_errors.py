"""A `ServiceError` as a gRPC status, in one place (docs/api.md): the code of the same name, with google.rpc
details (BadRequest naming the fields, RetryInfo, ErrorInfo). Never UNKNOWN, never a traceback.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from contract.rules import Violation
from server.auth import ERROR_DOMAIN
from server.errors import ServiceError, Status


def to_status(err: ServiceError) -> grpc.Status:
    details = []
    if err.violations:
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.message) for v in err.violations]))
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
    code = grpc_code(err.status)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=err.message, details=packed))


def grpc_code(status: Status) -> grpc.StatusCode:
    return grpc.StatusCode[status.name]


async def abort(context: grpc.aio.ServicerContext, err: ServiceError) -> None:
    status = to_status(err)
    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)


class _Undecodable:
    """What the tolerant deserializer returns for bytes that are not a valid request message."""

    __slots__ = ()


def _tolerant(deserializer):
    def deserialize(data: bytes):
        try:
            return deserializer(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError (or anything a deserializer raises)
            return _Undecodable()

    return deserialize


UNDECODABLE = "the request is not a valid protobuf message of this method"


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Request bytes that do not parse become INVALID_ARGUMENT (field `request`).

    Without it grpc.aio answers UNKNOWN "Unexpected <class 'google.protobuf.message.DecodeError'>: ..." (the
    deserializer runs outside our handlers), which breaks the never-UNKNOWN rule and leaks internals. Every method
    of `prefix` (our service) is wrapped: a unary request is checked before its handler runs; a streamed request
    (StreamingSynthesize) is checked message by message as the handler reads it, and an undecodable one raises
    the same ServiceError out of the request iterator, which the handler turns into its status like any other
    (the session ends with INVALID_ARGUMENT, whichever message was bad). Install it after the auth interceptor,
    so that a caller without a valid token still gets UNAUTHENTICATED.
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._error = ServiceError(Status.INVALID_ARGUMENT, UNDECODABLE, [Violation("request", UNDECODABLE)])
        self._status = to_status(self._error)

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if (handler is None or handler.request_deserializer is None
                or not (handler_call_details.method or "").startswith(self._prefix)):
            return handler
        status = self._status
        kwargs = {"request_deserializer": _tolerant(handler.request_deserializer),
                  "response_serializer": handler.response_serializer}
        if handler.request_streaming:
            if not handler.response_streaming:
                return handler  # no such method in our service; left as grpc handles it
            inner_bidi, error = handler.stream_stream, self._error

            async def checked(request_iterator):
                async for request in request_iterator:
                    if isinstance(request, _Undecodable):
                        raise error
                    yield request

            async def stream_stream(request_iterator, context):
                responses = inner_bidi(checked(request_iterator), context)
                try:
                    async for response in responses:
                        yield response
                finally:
                    await responses.aclose()

            return grpc.stream_stream_rpc_method_handler(stream_stream, **kwargs)
        if handler.response_streaming:
            inner_stream = handler.unary_stream

            async def unary_stream(request, context):
                if isinstance(request, _Undecodable):
                    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
                responses = inner_stream(request, context)  # our streaming handlers are async generators
                try:
                    async for response in responses:
                        yield response
                finally:
                    await responses.aclose()  # closed with us, not later by the garbage collector

            return grpc.unary_stream_rpc_method_handler(unary_stream, **kwargs)
        inner = handler.unary_unary

        async def unary_unary(request, context):
            if isinstance(request, _Undecodable):
                await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
