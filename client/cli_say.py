"""`qwen3-tts say`: speak a text into a file (-o out.wav|.flac|.ogg|.mp3|.aac) or as raw PCM on stdout (--stream).

The text is the argument, or stdin when the argument is "-" or omitted (and stdin is not a terminal). With
--local the model runs in this process (server/local.py, through client/local_synthesis.py) instead of on a server; everything else is
the same. A file appears only when the stream completed; --stream writes each chunk as it arrives (s16le at
the chosen rate, e.g. `| aplay -f S16_LE -r 24000 -c 1`), so a failure there leaves the audio cut short and
says so on stderr.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

from client.audio_file import AudioFileWriter, encoding_for
from client.cli_common import EXIT_ERROR, EXIT_OK, UsageError, open_client
from client.encoding import Encoding
from client.progress import Progress, rtf_text
from client.synthesis import Synthesis


def add_parser(sub: argparse._SubParsersAction, conn: argparse.ArgumentParser) -> None:
    p = sub.add_parser("say", parents=[conn], help="speak a text into a file or to stdout",
                       description=__doc__.splitlines()[0])
    p.add_argument("text", nargs="?", default=None, metavar="TEXT", help='the text; "-" or omitted: read stdin')
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="FILE", help="write .wav, .flac, .ogg/.opus (Ogg Opus), .mp3, .aac or .raw")
    out.add_argument("--stream", action="store_true", help="write raw PCM s16le to stdout as it arrives")
    p.add_argument("--float", dest="float32", action="store_true",
                   help="32-bit float samples (.wav/.raw; at 24 kHz the model's own output)")
    p.add_argument("--voice", help="voice name (see `qwen3-tts voices`); default: the model's first speaker")
    p.add_argument("--language", help="e.g. english (default: detected)")
    p.add_argument("--instructions", help="style prompt, or the voice description of a VoiceDesign model")
    p.add_argument("--seed", type=int, help="reproducible sampling (default: drawn, and printed)")
    p.add_argument("--sample-rate", type=int, default=0, metavar="HZ", help="output rate (default: 24000)")
    p.add_argument("--chunk-ms", type=int, default=0, metavar="MS", help="chunk duration 20..100 (default: 80)")
    p.add_argument("--max-audio-ms", type=int, default=0, metavar="MS", help="cut the audio there")
    p.add_argument("--speed", type=float, metavar="X", help="playback speed 0.25..4.0, pitch kept (default: 1.0)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--repetition-penalty", type=float)
    p.add_argument("--greedy", action="store_true", default=None, help="greedy decoding (no sampling)")
    p.add_argument("--priority", choices=["interactive", "batch"], help="scheduling class on the server")
    p.add_argument("--text-normalization", choices=["auto", "on", "off"],
                   help="spell out numbers, dates, money... (default: auto, for English and Russian)")
    p.add_argument("--stream-input", action="store_true",
                   help="read the text from stdin as it arrives and speak it while it is written "
                        "(e.g. `llm ... | qwen3-tts say --stream-input --stream | aplay ...`)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the segments the text is spoken in (as spoken), synthesise nothing")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", default=None,
                       help="show the progress line even when stderr is not a terminal")
    shown.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    local = p.add_argument_group("in-process synthesis (no server)")
    local.add_argument("--local", action="store_true", help="run the model in this process")
    local.add_argument("--model", metavar="DIR_OR_HUB_ID", help="checkpoint for --local")
    local.add_argument("--device", default="cpu", help="torch device for --local [default: cpu]")
    local.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                       help="talker dtype for --local (auto: float32 on a CPU, bfloat16 on CUDA)")
    local.add_argument("--threads", type=int, help="torch CPU threads for --local")
    p.set_defaults(run=run)


def read_text(arg: str | None, stdin=None) -> str:
    stdin = stdin or sys.stdin
    if arg is not None and arg != "-":
        return arg
    if arg is None and stdin.isatty():
        raise UsageError("no text: give it as an argument, or pipe it in (TEXT '-' reads stdin)")
    return stdin.read().strip()


def stdin_pieces(stdin=None) -> Iterator[str]:
    """stdin's text as it arrives (not line by line: whatever the writer has flushed), decoded as UTF-8."""
    fd = (stdin or sys.stdin).fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(fd, 4096):
        piece = decoder.decode(chunk)
        if piece:
            yield piece
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def run(args: argparse.Namespace) -> int:
    if not args.output and not args.stream and not args.dry_run:
        raise UsageError("choose where the audio goes: -o FILE (.wav, .flac, .ogg, .mp3, .aac) "
                         "or --stream (raw PCM to stdout)")
    if args.local and not args.model:
        raise UsageError("--local needs --model DIR_OR_HUB_ID")
    if args.stream and args.float32:
        raise UsageError("--stream writes s16le; --float is for files")
    if args.stream_input and (args.local or args.dry_run or args.text not in (None, "-")):
        raise UsageError("--stream-input reads the text from stdin, from a server (no TEXT, --local or --dry-run)")
    encoding = encoding_for(args.output, args.float32) if args.output else Encoding.PCM_S16LE
    text = None if args.stream_input else read_text(args.text)
    options = dict(voice=args.voice, language=args.language, instructions=args.instructions, encoding=encoding,
                   sample_rate=args.sample_rate, chunk_ms=args.chunk_ms, seed=args.seed,
                   temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                   repetition_penalty=args.repetition_penalty, greedy=args.greedy, max_audio_ms=args.max_audio_ms,
                   text_normalization=args.text_normalization, segments=args.dry_run,
                   dry_run=args.dry_run, speed=args.speed)
    progress = Progress(sys.stderr, sys.stderr.isatty() if args.progress is None else args.progress)
    if args.local:
        from client.local_synthesis import LocalSynthesizer

        synthesizer = LocalSynthesizer(args.model, device=args.device, dtype=args.dtype, threads=args.threads)
        return _deliver(synthesizer.synthesize(text, request_id=args.request_id, **options), args, progress)
    with open_client(args) as client:
        if args.stream_input:
            options.pop("dry_run")
            options.pop("segments")
            synthesis = client.synthesize_stream_input(stdin_pieces(), priority=args.priority, **options)
            return _deliver(synthesis, args, progress)
        return _deliver(client.synthesize(text, priority=args.priority, **options), args, progress)


def _deliver(synthesis: Synthesis, args: argparse.Namespace, progress: Progress) -> int:
    """Read the stream into the file or stdout, with the progress line; returns the exit code."""
    if args.dry_run:
        return _print_segments(synthesis)
    with synthesis:  # cancels the call on any early exit (error, Ctrl-C, closed pipe)
        started = synthesis.started
        progress.restart()
        try:
            if args.output:
                with AudioFileWriter(args.output, started.audio_format) as writer:
                    for chunk in synthesis:
                        writer.write(chunk.audio)
                        progress.update(synthesis.audio_seconds)
            else:
                _stream_to(sys.stdout.buffer, synthesis, progress)
            progress.update(synthesis.audio_seconds, force=True)  # the final figure, whatever the throttling
        except BrokenPipeError:  # the player went away: stop generating, no traceback
            _silence_stdout()
            print("stdout closed; synthesis cancelled", file=sys.stderr)
            return EXIT_ERROR
        finally:
            progress.clear()
    if not args.quiet:
        finished = synthesis.finished
        fmt = started.audio_format
        where = f"wrote {args.output}" if args.output else "streamed"
        print(f"{where}: {finished.usage.audio_duration:.2f} s of audio ({fmt.encoding} {fmt.sample_rate} Hz), "
              f"voice {started.voice or '-'}, seed {started.seed}, {finished.finish_reason}, "
              f"{rtf_text(finished.usage.processing_time, finished.usage.audio_duration)} "
              f"[request id {started.request_id}]", file=sys.stderr)
    return EXIT_OK


def _stream_to(out: BinaryIO, synthesis: Synthesis, progress: Progress) -> None:
    for chunk in synthesis:
        out.write(chunk.audio)
        out.flush()  # a player should get each chunk now, not when a buffer fills
        progress.update(synthesis.audio_seconds)


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _print_segments(synthesis: Synthesis) -> int:
    """--dry-run: one JSON line per segment (index, source range, the text as it will be spoken)."""
    with synthesis:
        for _ in synthesis:
            pass
        for s in synthesis.segments:
            print(json.dumps({"index": s.index, "source": [s.source_start, s.source_end], "text": s.text},
                             ensure_ascii=False))
    return 0
