"""Logging: JSON lines, request-id contextvars (also via the interceptor), stdlib routing, text redaction."""

from __future__ import annotations

import io
import json
import logging

import grpc
import pytest
import structlog

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from server.log import (
    RequestContextInterceptor,
    configure_logging,
    current_request_id,
    get_logger,
    request_context,
    request_id_from_metadata,
)

SECRET = "The quarterly numbers are confidential."


@pytest.fixture
def logs():
    buf = io.StringIO()
    configure_logging(level="info", fmt="json", stream=buf)
    structlog.contextvars.clear_contextvars()

    def lines() -> list[dict]:
        return [json.loads(line) for line in buf.getvalue().splitlines()]

    yield lines
    structlog.contextvars.clear_contextvars()
    configure_logging(level="warning", fmt="json")  # leave a quiet configuration for other tests


def test_json_lines_with_request_context(logs) -> None:
    log = get_logger("server.test")
    with request_context("req-1", method="Synthesize"):
        log.info("request.admitted", input_characters=12)
    log.info("after")
    first, second = logs()
    assert first["event"] == "request.admitted" and first["request_id"] == "req-1"
    assert first["method"] == "Synthesize" and first["input_characters"] == 12
    assert first["level"] == "info" and first["logger"] == "server.test" and first["timestamp"].endswith("Z")
    assert "request_id" not in second


def test_stdlib_logging_is_routed_through_structlog(logs) -> None:
    with request_context("req-2"):
        logging.getLogger("grpc._cython").warning("from %s", "stdlib")
        logging.getLogger("grpc._cython").debug("not shown at info")
    (line,) = logs()
    assert line == {**line, "event": "from stdlib", "level": "warning", "logger": "grpc._cython",
                    "request_id": "req-2"}


def test_exceptions_are_structured(logs) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger().exception("failed")
    (line,) = logs()
    assert line["exception"][0]["exc_type"] == "ValueError"


def test_text_is_never_logged_at_info(logs) -> None:
    log = get_logger()
    log.info("request", text=SECRET, instructions="whisper", reference_audio=b"\x00" * 10)
    log.warning("warn", text=SECRET)
    logging.getLogger("x").error("stdlib %s", "msg", extra={"text": SECRET})
    out = logs()
    raw = json.dumps(out)
    assert SECRET not in raw and "whisper" not in raw
    assert out[0]["text"].startswith(f"<redacted {len(SECRET)} chars sha256:")
    assert out[0]["reference_audio"].startswith("<redacted 10 bytes sha256:")
    assert out[2]["text"].startswith("<redacted")


def test_text_at_debug_only_when_enabled() -> None:
    buf = io.StringIO()
    configure_logging(level="debug", stream=buf, log_text=True)
    get_logger().debug("dbg", text=SECRET)
    get_logger().info("inf", text=SECRET)
    configure_logging(level="debug", stream=buf)  # log_text off: redacted even at debug
    get_logger().debug("dbg2", text=SECRET)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    configure_logging(level="warning")
    assert lines[0]["text"] == SECRET
    assert lines[1]["text"].startswith("<redacted") and lines[2]["text"].startswith("<redacted")


def test_console_format_and_bad_settings() -> None:
    buf = io.StringIO()
    configure_logging(level="info", fmt="console", stream=buf)
    get_logger().info("hello", text=SECRET)
    configure_logging(level="warning")
    assert "hello" in buf.getvalue() and SECRET not in buf.getvalue()
    with pytest.raises(ValueError):
        configure_logging(level="loud")
    with pytest.raises(ValueError):
        configure_logging(fmt="xml")


def test_request_id_from_metadata() -> None:
    assert request_id_from_metadata((("x-request-id", "abc-123"),)) == "abc-123"
    for bad in ("", "has space", "x" * 129, "caf\u00e9"):
        rid = request_id_from_metadata((("x-request-id", bad),))
        assert rid != bad and len(rid) == 32
    assert len(request_id_from_metadata(None)) == 32


@pytest.mark.asyncio
async def test_interceptor_binds_request_id_per_rpc(logs) -> None:
    seen: list[str | None] = []

    class Servicer(tts_pb2_grpc.TextToSpeechServiceServicer):
        async def GetServiceInfo(self, request, context):
            seen.append(current_request_id())
            get_logger("handler").info("served")
            return tts_pb2.GetServiceInfoResponse()

    server = grpc.aio.server(interceptors=[RequestContextInterceptor()], options=[("grpc.so_reuseport", 0)])
    tts_pb2_grpc.add_TextToSpeechServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = tts_pb2_grpc.TextToSpeechServiceStub(ch)
            await stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), metadata=(("x-request-id", "client-7"),))
            await stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest())
    finally:
        await server.stop(None)
    assert seen[0] == "client-7" and seen[1] not in (None, "client-7")  # a fresh id, nothing leaked across RPCs
    served = [x for x in logs() if x["event"] == "served"]
    assert [x["request_id"] for x in served] == seen and {x["method"] for x in served} == {"GetServiceInfo"}
    assert current_request_id() is None  # nothing leaked into the test's own context
