"""nginx (Debian's package) as the L7 proxy in front of server replicas: gRPC per call (grpc_pass over HTTP/2)
and the HTTP API (proxy_pass, unbuffered), both round-robin. The same role a Gateway API GRPCRoute plays in
deploy/k8s/grpcroute.yaml; docs/deploy.md shows this configuration for bare metal.

    with Nginx(grpc_backends, http_backends, tmp_dir) as proxy: proxy.grpc_port, proxy.http_port
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.e2e import free_port

CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream tts_grpc {{ {grpc_servers} keepalive 32; }}
    upstream tts_http {{ {http_servers} keepalive 32; }}
    server {{
        listen 127.0.0.1:{grpc_port} http2;
        location / {{
            grpc_pass grpc://tts_grpc;
            grpc_read_timeout 600s;        # a stream may be silent while it waits for a slot
            grpc_send_timeout 600s;
            grpc_next_upstream error timeout;  # a replica that refuses connections (gone) is skipped
        }}
    }}
    server {{
        listen 127.0.0.1:{http_port};
        client_max_body_size 8m;
        location / {{
            proxy_pass http://tts_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;           # audio streams through as it is made
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            # a draining replica's 503 (SHUTTING_DOWN: nothing was started) is retried on the other one
            proxy_next_upstream error timeout http_503 non_idempotent;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, grpc_backends: list[int], http_backends: list[int], directory: Path):
        self.dir = directory
        self.grpc_port, self.http_port = free_port(), free_port()
        self.config = CONFIG.format(
            dir=directory, grpc_port=self.grpc_port, http_port=self.http_port,
            grpc_servers=" ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in grpc_backends),
            http_servers=" ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in http_backends))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        (self.dir / "nginx.conf").write_text(self.config)
        self.proc = subprocess.Popen([binary, "-c", str(self.dir / "nginx.conf"), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {self.proc.stderr.read().decode()}") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def errors(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else ""
