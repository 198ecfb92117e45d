"""The server process never imports torch: every server module and the stubs import without it."""

from __future__ import annotations

import subprocess
import sys


def test_server_modules_do_not_import_torch() -> None:
    code = ("import sys, server, server.config, server.auth, server.metrics, server.log, server.audio, "
            "server.audio.stream, qwen3tts.v1.tts_pb2_grpc; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
