"""The real server as tests meet it: `python -m server` in its own process group, on 127.0.0.1, with real
worker processes, found by the port it logs and ready when its health says SERVING."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from qwen3tts.v1 import tts_pb2_grpc

SERVICE = "qwen3tts.v1.TextToSpeechService"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, model: Path | str, *args: str, env: dict | None = None, metrics: bool = True,
                 credentials: grpc.ChannelCredentials | None = None, host_override: str | None = None):
        self.model, self.args = str(model), list(args)
        self.env = {**os.environ, **(env or {})}
        self.metrics_port = free_port() if metrics else 0
        self.credentials, self.host_override = credentials, host_override
        self.port: int | None = None
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._listening = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self, ready_timeout: float = 240, wait_ready: bool = True) -> ServerProcess:
        """Start; return once the port is open and (`wait_ready`) health says SERVING."""
        cmd = [sys.executable, "-m", "server", "--model", self.model, "--host", "127.0.0.1", "--port", "0",
               "--metrics-host", "127.0.0.1", "--metrics-port", str(self.metrics_port), "--log-format", "json",
               *self.args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(60):
            raise RuntimeError("server did not start listening:\n" + "\n".join(self.lines[-30:]))
        if wait_ready:
            self.wait_health(health_pb2.HealthCheckResponse.SERVING, ready_timeout)
        return self

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code. Kills the whole group if it does not exit."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            event = self.event(line)
            if event.get("event") == "server.listening":
                self.port = event["port"]
                self._listening.set()

    @staticmethod
    def event(line: str) -> dict:
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def events(self, name: str) -> list[dict]:
        return [e for e in (self.event(x) for x in list(self.lines)) if e.get("event") == name]

    # ------------------------------------------------------------------ clients
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self) -> grpc.Channel:
        if self.credentials is not None:
            opts = [("grpc.ssl_target_name_override", self.host_override)] if self.host_override else []
            return grpc.secure_channel(self.address, self.credentials, options=opts)
        return grpc.insecure_channel(self.address)

    def stub(self) -> tts_pb2_grpc.TextToSpeechServiceStub:
        return tts_pb2_grpc.TextToSpeechServiceStub(self.channel())

    def health(self, service: str = SERVICE) -> int:
        stub = health_pb2_grpc.HealthStub(self.channel())
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status

    def wait_health(self, status: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.health() == status:
                    return
            except grpc.RpcError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n" + "\n".join(self.lines[-30:]))
            if time.monotonic() > deadline:
                raise TimeoutError(f"health never became {status}:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-f", "multiprocessing.spawn", "-P", str(self.proc.pid)],
                             capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]
