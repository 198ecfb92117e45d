"""What the CLI commands share: exit codes, the server connection options, and opening a client from them."""

from __future__ import annotations

import argparse
import os

from client.connection import DEFAULT_TARGET
from client.sync_client import TTSClient

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
SERVER_ENV, TOKEN_ENV = "QWEN3_TTS_SERVER", "QWEN3_TTS_TOKEN"


class UsageError(Exception):
    """A command line that cannot work (exit 2), found after argparse (e.g. no text given)."""


def connection_options() -> argparse.ArgumentParser:
    """A parent parser for every server command, so that the options may follow the command name."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("server connection")
    g.add_argument("--server", metavar="HOST:PORT", default=os.environ.get(SERVER_ENV) or DEFAULT_TARGET,
                   help=f"server address [default: {DEFAULT_TARGET}; env {SERVER_ENV}]")
    g.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None,
                   help=f"bearer token, when the server requires one [env {TOKEN_ENV}]")
    g.add_argument("--tls", action="store_true", help="connect with TLS (system CA roots unless --ca-cert)")
    g.add_argument("--ca-cert", metavar="FILE", default=None, help="PEM CA bundle to verify the server (implies --tls)")
    g.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="deadline of the call")
    g.add_argument("--request-id", default=None, help="x-request-id to send (default: a fresh one)")
    return p


def open_client(args: argparse.Namespace) -> TTSClient:
    return TTSClient(args.server, token=args.token, tls=args.tls, root_certificates=args.ca_cert,
                     timeout=args.timeout, request_id=args.request_id)
