"""Below the messages: raw garbage and broken HTTP/2 on the gRPC port, broken HTTP/1.1 on the HTTP port. The server
must shrug each connection off: afterwards it still answers health, speaks through both doors, and its worker
was never replaced. Each case is a raw TCP connection from this process (no client library would send these).
"""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest

from tests.e2e import http_request
from tests.reliability.conftest import md
from tests.reliability.fuzz_messages import VOICE

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind: int, flags: int, stream: int, payload: bytes, claimed: int | None = None) -> bytes:
    """An HTTP/2 frame; `claimed` lies about the payload length (a truncated frame)."""
    length = len(payload) if claimed is None else claimed
    return struct.pack(">I", length)[1:] + bytes([kind, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


def grpc_cases(rng: random.Random) -> list[bytes]:
    settings = frame(0x4, 0, 0, b"")
    headers_junk = frame(0x1, 0x4, 1, bytes(rng.randrange(256) for _ in range(40)))  # HPACK garbage
    cases = [
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096))),  # not even a preface
        PREFACE[:10],  # a preface cut short
        PREFACE + frame(0x4, 0, 0, b"\x00" * 5),  # a SETTINGS frame with a bad length (not a multiple of 6)
        PREFACE + frame(0x4, 0, 0, b"\x00\x04\x00\x00\xff\xff", claimed=600),  # truncated SETTINGS
        PREFACE + settings + headers_junk,
        PREFACE + settings + frame(0x0, 0x1, 0, b"data on stream zero"),
        PREFACE + settings + frame(0x8, 0, 0, struct.pack(">I", 0x7FFFFFFF)) * 3,  # window overflow
        PREFACE + settings + frame(0x6, 0, 0, b"\x00" * 8) * 200,  # a ping flood
        PREFACE + settings + frame(0x3, 0, 1, b"\x00\x00\x00\x08"),  # RST of an idle stream
        PREFACE + settings + frame(0x9, 0, 1, b"x" * 10),  # CONTINUATION without HEADERS
        PREFACE + settings + frame(0x1, 0x4, 1, b"\x82\x86\x84", claimed=16_000),  # HEADERS cut short
        PREFACE + settings + frame(0x7, 0, 0, b"\x00" * 8),  # GOAWAY from the client
        PREFACE + settings + frame(rng.randint(10, 255), rng.randrange(256), rng.randrange(1 << 31),
                                   bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))),  # unknown type
    ]
    return cases


def http_cases(rng: random.Random) -> list[bytes]:
    return [
        bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096))),
        b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"input\":",  # body cut short
        b"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"a" * 70_000 + b"\r\n\r\n",  # a huge header
        b"GET / HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on a plaintext port
        PREFACE + frame(0x4, 0, 0, b""),  # HTTP/2 on the HTTP/1.1 port
        b"GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ]


def blast(port: int, data: bytes, linger_s: float = 0.05) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
            time.sleep(linger_s)
            s.settimeout(0.2)
            s.recv(65536)
        except OSError:
            pass  # the server may close first: that is its right


@pytest.mark.parametrize("seed", range(3))
def test_garbage_and_broken_frames_do_not_take_the_server_down(hardened, seed):
    rng = random.Random(seed)
    server = hardened.server
    sent = 0
    for data in grpc_cases(rng):
        blast(server.port, data)
        sent += 1
    for data in http_cases(rng):
        blast(server.http_port, data)
        sent += 1
    hardened.count("wire", sent)
    assert server.health() == 1  # SERVING
    assert http_request(server, "GET", "/health").status == 200
    from tests.e2e import synthesize

    synthesize(hardened.stub, text="Still fine.", voice=VOICE, metadata=md()).ok()
    assert server.worker_pids() == hardened.workers
