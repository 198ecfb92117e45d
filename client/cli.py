"""`qwen3-tts` (also `python -m client`): speak text through a Qwen3-TTS server, or in-process with --local.

    qwen3-tts say "Hello there." -o hello.wav
    echo "Hello there." | qwen3-tts say --stream | aplay -f S16_LE -r 24000 -c 1
    qwen3-tts voices | info | register-voice NAME --ref-audio FILE | delete-voice NAME

Exit codes: 0 ok; 2 usage error or invalid request (the bad fields are printed one per line); 3 server
unavailable or unreachable (retryable); 1 any other error. Server errors are printed as one line, never as
a traceback.
"""

from __future__ import annotations

import argparse
import sys

from client import cli_info, cli_say, cli_voices
from client.cli_common import EXIT_ERROR, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, connection_options
from client.errors import InvalidArgument, TTSError


def build_parser() -> argparse.ArgumentParser:
    conn = connection_options()
    parser = argparse.ArgumentParser(prog="qwen3-tts", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Exit codes: 0 ok, 1 error, 2 usage/invalid request, 3 unavailable.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_say.add_parser(sub, conn)
    cli_voices.add_parsers(sub, conn)
    cli_info.add_parser(sub, conn)
    return parser


def report(error: TTSError) -> int:
    """Print a server error as a few lines on stderr; returns the exit code."""
    rid = f" [request id {error.request_id}]" if error.request_id else ""
    if isinstance(error, InvalidArgument) and error.field_violations:
        print(f"error: invalid request{rid}", file=sys.stderr)
        for v in error.field_violations:
            print(f"  {v.field}: {v.description}", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)
    if isinstance(error, InvalidArgument):
        return EXIT_USAGE
    return EXIT_UNAVAILABLE if error.retryable else EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TTSError as e:
        return report(e)
    except (UsageError, ValueError) as e:  # ValueError: an argument the client refuses before any call
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a file that cannot be read or written
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
