"""Bearer-token interceptor against a real grpc.aio server on 127.0.0.1 (so_reuseport off)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from server.auth import BearerTokenInterceptor, load_tokens, parse_tokens

TOKENS = ["s3cr3t-alpha", "s3cr3t-beta"]
SERVICE = "qwen3tts.v1.TextToSpeechService"


class FakeTts(tts_pb2_grpc.TextToSpeechServiceServicer):
    """Trivial servicer: counts calls so tests can check rejected calls never reach it."""

    def __init__(self) -> None:
        self.calls = 0

    async def GetServiceInfo(self, request, context):
        self.calls += 1
        return tts_pb2.GetServiceInfoResponse(model="fake")

    async def Synthesize(self, request, context):
        self.calls += 1
        yield tts_pb2.SynthesizeResponse(started=tts_pb2.SynthesisStarted(request_id="r1"))
        for i in range(3):
            yield tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(audio=b"\x00\x00", sequence_number=i))


def _echo_handlers(calls: list[str]) -> grpc.GenericRpcHandler:
    """test.Echo with all four cardinalities, to check the rejection handler matches each."""
    ident = lambda b: b  # noqa: E731

    async def uu(req, ctx):
        calls.append("uu")
        return req

    async def us(req, ctx):
        calls.append("us")
        yield req

    async def su(it, ctx):
        calls.append("su")
        return b"".join([m async for m in it])

    async def ss(it, ctx):
        calls.append("ss")
        async for m in it:
            yield m

    return grpc.method_handlers_generic_handler("test.Echo", {
        "UU": grpc.unary_unary_rpc_method_handler(uu, ident, ident),
        "US": grpc.unary_stream_rpc_method_handler(us, ident, ident),
        "SU": grpc.stream_unary_rpc_method_handler(su, ident, ident),
        "SS": grpc.stream_stream_rpc_method_handler(ss, ident, ident),
    })


@pytest_asyncio.fixture
async def env():
    rejects: list[tuple[str, str]] = []
    interceptor = BearerTokenInterceptor(TOKENS, on_reject=lambda m, r: rejects.append((m, r)))
    server = grpc.aio.server(interceptors=[interceptor], options=[("grpc.so_reuseport", 0)])
    fake = FakeTts()
    tts_pb2_grpc.add_TextToSpeechServiceServicer_to_server(fake, server)
    hs = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    echo_calls: list[str] = []
    server.add_generic_rpc_handlers((_echo_handlers(echo_calls),))
    reflection.enable_server_reflection((SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await hs.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield {"channel": channel, "fake": fake, "rejects": rejects, "interceptor": interceptor, "echo": echo_calls}
    finally:
        await channel.close()
        await server.stop(None)


def _md(token: str | None, scheme: str = "Bearer") -> tuple[tuple[str, str], ...]:
    return () if token is None else (("authorization", f"{scheme} {token}"),)


async def _reason(call) -> str:
    status = await rpc_status.aio.from_call(call)
    assert status is not None and status.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    assert info.domain == "qwen3tts"
    return info.reason


@pytest.mark.asyncio
@pytest.mark.parametrize("metadata, reason", [
    ((), "MISSING_TOKEN"),
    (_md("wrong"), "INVALID_TOKEN"),
    (_md("s3cr3t-alph"), "INVALID_TOKEN"),  # a prefix of a valid token
    (_md("s3cr3t-alpha", scheme="Basic"), "MALFORMED_AUTHORIZATION"),
    ((("authorization", "Bearer"),), "MALFORMED_AUTHORIZATION"),
    ((("authorization", "s3cr3t-alpha"),), "MALFORMED_AUTHORIZATION"),
])
async def test_unary_rejected(env, metadata, reason) -> None:
    stub = tts_pb2_grpc.TextToSpeechServiceStub(env["channel"])
    call = stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await _reason(call) == reason
    assert env["fake"].calls == 0
    assert env["rejects"] == [("/qwen3tts.v1.TextToSpeechService/GetServiceInfo", reason)]


@pytest.mark.asyncio
async def test_streaming_synthesize_rejected_with_unauthenticated(env) -> None:
    stub = tts_pb2_grpc.TextToSpeechServiceStub(env["channel"])
    call = stub.Synthesize(tts_pb2.SynthesizeRequest(text="hello"), metadata=_md("nope"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        async for _ in call:
            pytest.fail("no message may arrive before the rejection")
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert e.value.details() == "invalid token"
    assert await _reason(call) == "INVALID_TOKEN"
    assert env["fake"].calls == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("token, scheme", [(TOKENS[0], "Bearer"), (TOKENS[1], "bearer"), (TOKENS[1], "BEARER")])
async def test_valid_tokens_pass(env, token, scheme) -> None:
    stub = tts_pb2_grpc.TextToSpeechServiceStub(env["channel"])
    info = await stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=_md(token, scheme))
    assert info.model == "fake"
    events = [r.WhichOneof("event") async for r in stub.Synthesize(tts_pb2.SynthesizeRequest(text="x"),
                                                                   metadata=_md(token, scheme))]
    assert events == ["started", "audio", "audio", "audio"]
    assert env["fake"].calls == 2 and env["rejects"] == []


@pytest.mark.asyncio
async def test_every_cardinality_gets_a_matching_rejection(env) -> None:
    ch = env["channel"]
    ident = lambda b: b  # noqa: E731

    async def requests():
        yield b"a"
        yield b"b"

    async def held_back():
        # Send nothing until the status arrives: a client still writing when the server rejects a
        # client-streaming call races grpc's own send path and reports INTERNAL from the client's core.
        await asyncio.sleep(3600)
        yield b"a"

    calls = {
        "UU": lambda md, _: ch.unary_unary("/test.Echo/UU", ident, ident)(b"x", metadata=md),
        "US": lambda md, _: ch.unary_stream("/test.Echo/US", ident, ident)(b"x", metadata=md),
        "SU": lambda md, gen: ch.stream_unary("/test.Echo/SU", ident, ident)(gen(), metadata=md),
        "SS": lambda md, gen: ch.stream_stream("/test.Echo/SS", ident, ident)(gen(), metadata=md),
    }
    for name, make in calls.items():
        call = make((), held_back)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            if name in ("US", "SS"):
                async for _ in call:
                    pass
            else:
                await call
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
        assert await _reason(call) == "MISSING_TOKEN"
    assert env["echo"] == []
    # and with a token each one works
    good = _md(TOKENS[0])
    assert await calls["UU"](good, requests) == b"x"
    assert [m async for m in calls["US"](good, requests)] == [b"x"]
    assert await calls["SU"](good, requests) == b"ab"
    assert [m async for m in calls["SS"](good, requests)] == [b"a", b"b"]
    assert env["echo"] == ["uu", "us", "su", "ss"]


@pytest.mark.asyncio
async def test_health_and_reflection_are_exempt(env) -> None:
    hstub = health_pb2_grpc.HealthStub(env["channel"])
    resp = await hstub.Check(health_pb2.HealthCheckRequest(service=SERVICE))
    assert resp.status == health_pb2.HealthCheckResponse.SERVING
    rstub = reflection_pb2_grpc.ServerReflectionStub(env["channel"])

    async def ask():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    (answer,) = [r async for r in rstub.ServerReflectionInfo(ask())]
    names = {s.name for s in answer.list_services_response.service}
    assert {SERVICE, health.SERVICE_NAME} <= names
    assert env["rejects"] == []


@pytest.mark.asyncio
async def test_unknown_method_stays_unimplemented(env) -> None:
    call = env["channel"].unary_unary("/nope.Service/Missing", lambda b: b, lambda b: b)(b"")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.asyncio
async def test_token_rotation(env) -> None:
    stub = tts_pb2_grpc.TextToSpeechServiceStub(env["channel"])
    env["interceptor"].set_tokens(["fresh"])
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=_md(TOKENS[0]))
    assert (await stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=_md("fresh"))).model == "fake"


def test_token_parsing(tmp_path) -> None:
    assert parse_tokens("# comment\n\n  alpha  \nbeta\n#gamma\n") == ["alpha", "beta"]
    with pytest.raises(ValueError, match="line 2"):
        parse_tokens("ok\nBearer abc\n")
    with pytest.raises(ValueError, match="printable ASCII"):
        parse_tokens("caf\u00e9\n")
    f = tmp_path / "tokens"
    f.write_text("one\ntwo\n")
    assert load_tokens(f) == ["one", "two"]
    f.write_text("# nothing\n")
    with pytest.raises(ValueError):
        load_tokens(f)
    with pytest.raises(ValueError):
        BearerTokenInterceptor([])
    i = BearerTokenInterceptor(["abc", "def"])
    assert i.is_valid("abc") and i.is_valid("def")
    assert not any(i.is_valid(t) for t in ("", "ab", "abcd", "ABC", "abc "))
    assert not i.is_valid("\u00e9")  # non-ASCII presented tokens are compared as bytes, not an error
