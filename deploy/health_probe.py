#!/usr/bin/env python3
"""gRPC health check of a qwen3-tts-server, for where Kubernetes' native `grpc:` probe cannot be used.

Native gRPC probes speak plaintext only. When the server terminates TLS itself (--tls-cert), the probes have to
be exec probes that run this script inside the container (deploy/k8s/components/tls). In the image it is
/usr/local/bin/qwen3-tts-health-probe; it needs only grpcio and grpcio-health-checking (server dependencies).

    qwen3-tts-health-probe                                   # plaintext, 127.0.0.1:50051, the TTS service
    qwen3-tts-health-probe --service ""                      # "" = the process is alive
    qwen3-tts-health-probe --tls-ca ca.crt --tls-server-name qwen3-tts-server.qwen3-tts.svc
    qwen3-tts-health-probe --tls-ca ca.crt --tls-cert client.crt --tls-key client.key   # server requires mTLS

Exit status: 0 when the service is SERVING, 1 otherwise (NOT_SERVING, unknown service, no answer in time),
2 for bad arguments. Prints the status, or the error, on one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICE = "qwen3tts.v1.TextToSpeechService"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qwen3-tts-health-probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--address", default="127.0.0.1", help="server address [127.0.0.1]")
    p.add_argument("--port", type=int, default=50051, help="gRPC port [50051]")
    p.add_argument("--service", default=SERVICE, help=f'service to check ("" = process alive) [{SERVICE}]')
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer [3]")
    p.add_argument("--tls-ca", type=Path, help="PEM CA bundle that signed the server certificate; enables TLS")
    p.add_argument("--tls-server-name", help="name to verify the server certificate against [the address]")
    p.add_argument("--tls-cert", type=Path, help="client certificate chain (PEM), when the server requires mTLS")
    p.add_argument("--tls-key", type=Path, help="private key of --tls-cert (PEM)")
    a = p.parse_args(argv)
    if (a.tls_cert is None) != (a.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if (a.tls_cert or a.tls_server_name) and a.tls_ca is None:
        p.error("--tls-cert/--tls-server-name need --tls-ca")

    target = f"{a.address}:{a.port}"
    try:
        if a.tls_ca is None:
            channel = grpc.insecure_channel(target)
        else:
            creds = grpc.ssl_channel_credentials(
                root_certificates=a.tls_ca.read_bytes(),
                private_key=a.tls_key.read_bytes() if a.tls_key else None,
                certificate_chain=a.tls_cert.read_bytes() if a.tls_cert else None)
            options = [("grpc.ssl_target_name_override", a.tls_server_name)] if a.tls_server_name else []
            channel = grpc.secure_channel(target, creds, options)
    except OSError as e:
        print(f"cannot read a TLS file: {e}", file=sys.stderr)
        return 2
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=a.service), timeout=a.timeout)
        except grpc.RpcError as e:
            print(f"{target} {a.service!r}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{target} {a.service!r}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
