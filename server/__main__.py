"""`python -m server` / `qwen3-tts-server`: the text-to-speech server (gRPC, and the OpenAI-compatible HTTP API).

Configuration: flags > QWEN3_TTS_* environment variables > --config FILE.toml > defaults (server/config.py).
SIGTERM/SIGINT: health NOT_SERVING, stop admitting, drain in-flight streams for the grace period, exit.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from server.app import ServerApp
from server.config import describe, load_config_or_exit
from server.log import configure_logging, get_logger


async def serve(argv: list[str] | None = None) -> int:
    cfg = load_config_or_exit(argv)
    configure_logging(cfg.log_level, cfg.log_format)
    log = get_logger("server")
    log.info("server.config", **describe(cfg))
    app = ServerApp(cfg)
    try:
        await app.start()
    except (OSError, RuntimeError) as e:  # a port that cannot be bound, say
        log.error("server.start_failed", error=str(e))
        await app.stop(0)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    failed = loop.create_task(_until_failed(app))
    await asyncio.wait([loop.create_task(stop.wait()), failed], return_when=asyncio.FIRST_COMPLETED)
    await app.stop()
    if app.failed:
        log.error("server.exit", reason=app.failed)
        return 1
    return 0


async def _until_failed(app: ServerApp) -> None:
    while app.failed is None:
        await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is not available on every platform
        sys.exit(asyncio.run(serve(argv)))
    sys.exit(uvloop.run(serve(argv)))


if __name__ == "__main__":
    main()
