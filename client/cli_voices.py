"""`qwen3-tts voices | register-voice | delete-voice`: the server's voices."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from client.cli_common import EXIT_OK, open_client
from client.messages import Voice


def add_parsers(sub: argparse._SubParsersAction, conn: argparse.ArgumentParser) -> None:
    p = sub.add_parser("voices", parents=[conn], help="list the voices the server can speak with")
    p.add_argument("--language", help="only voices meant for this language")
    p.add_argument("--json", action="store_true", help="one JSON object per voice, one per line")
    p.set_defaults(run=list_voices)

    p = sub.add_parser("register-voice", parents=[conn], help="clone a voice from reference audio (Base models)")
    p.add_argument("name", metavar="NAME", help="[a-z0-9_-], 1 to 64 characters")
    p.add_argument("--ref-audio", required=True, metavar="FILE", help="3 to 30 s of clean speech (WAV/FLAC/Ogg)")
    p.add_argument("--ref-text", help="transcript of the reference (required unless --x-vector-only)")
    p.add_argument("--x-vector-only", action="store_true", help="clone from the speaker embedding alone")
    p.add_argument("--description", default="", help="shown by `qwen3-tts voices`")
    p.add_argument("--language", dest="languages", action="append", default=[], metavar="LANGUAGE",
                   help="a language the voice is meant for (repeatable; default: any)")
    p.set_defaults(run=register_voice)

    p = sub.add_parser("delete-voice", parents=[conn], help="delete a registered voice")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=delete_voice)


def describe(voice: Voice) -> str:
    kind = voice.type.value.replace("_", "-")
    if voice.type == "registered":
        kind += ", x-vector only" if voice.x_vector_only else ", in-context"
    return f"{voice.name:<20} {kind:<30} {voice.description}".rstrip()


def list_voices(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        voices = client.list_voices(args.language)
    for voice in voices:
        if args.json:
            print(json.dumps(asdict(voice), default=str))
        else:
            print(describe(voice))
    return EXIT_OK


def register_voice(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        voice = client.register_voice(args.name, args.ref_audio, reference_text=args.ref_text,
                                      x_vector_only=args.x_vector_only, description=args.description,
                                      languages=tuple(args.languages))
    print(f"registered {describe(voice)}")
    return EXIT_OK


def delete_voice(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        client.delete_voice(args.name)
    print(f"deleted {args.name}", file=sys.stderr)
    return EXIT_OK
