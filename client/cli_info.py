"""`qwen3-tts info`: the served model, its limits and the audio formats it offers."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from client.cli_common import EXIT_OK, open_client
from client.messages import ServiceInfo


def add_parser(sub: argparse._SubParsersAction, conn: argparse.ArgumentParser) -> None:
    p = sub.add_parser("info", parents=[conn], help="describe the served model and its limits")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def lines(info: ServiceInfo) -> list[str]:
    yes = lambda b: "yes" if b else "no"  # noqa: E731
    out = [
        f"model              {info.model} ({info.model_type})",
        f"server version     {info.server_version}",
        f"native rate        {info.native_sample_rate} Hz, {info.frame_duration_ms} ms frames",
    ]
    for i, f in enumerate(info.audio_formats):
        rates = " ".join(f"[{r}]" if r == f.default_sample_rate else str(r) for r in f.sample_rates)
        out.append(f"{'formats' if i == 0 else '':<18} {f.encoding:<10} {rates} Hz")
    out += [
        f"chunk duration     {info.min_chunk_duration_ms}..{info.max_chunk_duration_ms} ms "
        f"(default {info.default_chunk_duration_ms})",
        f"max text           {info.max_text_characters} characters",
        f"max instructions   {info.max_instructions_characters} characters",
        f"max audio          {info.max_audio_duration_ms / 1000:g} s",
        f"languages          {', '.join(info.languages)}",
        f"instructions       {yes(info.supports_instructions)}",
        f"voice cloning      {yes(info.supports_voice_cloning)}",
    ]
    return out


def run(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        info = client.service_info()
    print(json.dumps(asdict(info)) if args.json else "\n".join(lines(info)))
    return EXIT_OK
