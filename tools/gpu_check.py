"""`make gpu-check`: one command that tells, in minutes, whether the GPU path is correct and how fast it is.

    python -m tools.gpu_check [--device cuda] [--quick] [--out gpu-check.json]

1. builds the tiny and the real-0.6B random checkpoints (.cache/checkpoints/, once);
2. runs the oracle parity and the solo-vs-batch tests with the engine and the oracle on the device
   (pytest with QWEN3_TTS_TEST_DEVICE);
3. starts the real server on the device (`python -m server --device ...`) with CUDA graphs off (eager) and on,
   checks that one seeded request gives the same bytes both ways, and measures time to first audio p50/p95
   and aggregate frames/s at 1, 8 and 32 concurrent streams (2 s of audio each);
4. prints one JSON summary and writes it to --out.

Without CUDA it fails loudly (exit 2) unless told `--device cpu`: that CPU mode (`--quick`: the tiny
checkpoint, 1 and 2 streams, a few tests) is how this script is itself tested before a GPU ever runs it
(tests/tools/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from qwen3tts.v1 import tts_pb2
from tests.e2e import ServerProcess
from tools.make_checkpoint import make_checkpoint

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / ".cache" / "checkpoints"
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Streaming speech should start fast and never click.",
         "Batching many requests shares every decode step.", "A slow reader must never stall the others."]
# What "correct" means on the device: our engine against the official one, and a request alone against the
# same request in a batch (the fast subset for --quick).
TESTS = ["tests/tts/test_engine_parity.py", "tests/tts/test_batching.py"]
QUICK_TESTS = ["tests/tts/test_engine_parity.py::test_prompt_and_greedy_codes_equal_oracle[tiny-ryan-english]",
               "tests/tts/test_batching.py::test_each_request_in_a_staggered_batch_of_8_equals_itself_alone"]


def checkpoint(preset: str) -> Path:
    path = CHECKPOINTS / preset
    if not (path / "speech_tokenizer" / "model.safetensors").is_file():
        make_checkpoint(preset, path, seed=0)
    return path


def run_tests(device: str, quick: bool, report: Path) -> dict:
    selection = QUICK_TESTS if quick else TESTS
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *selection]
    t0 = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env={**os.environ, "QWEN3_TTS_TEST_DEVICE": device},
                          capture_output=True, text=True)
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None
              or c.find("error") is not None]
    return {**counts, "passed": proc.returncode == 0, "failed": failed, "seconds": round(time.monotonic() - t0, 1)}


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def measure(server: ServerProcess, streams: int, audio_ms: int) -> dict:
    """`streams` concurrent requests of `audio_ms` each: TTFA p50/p95 and aggregate frames/s."""
    stub = server.stub()
    ttfa: list[float] = []
    frames: list[int] = []

    def one(i: int) -> None:
        req = tts_pb2.SynthesizeRequest(text=TEXTS[i % len(TEXTS)], seed=i, max_audio_duration_ms=audio_ms)
        t0, first = time.perf_counter(), None
        for r in stub.Synthesize(req, timeout=600):
            if first is None and r.WhichOneof("event") == "audio":
                first = time.perf_counter() - t0
            if r.WhichOneof("event") == "finished":
                frames.append(r.finished.usage.generated_frames)
        ttfa.append(first)

    one(999)  # warm the path
    ttfa.clear()
    frames.clear()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"streams": streams, "ttfa_p50_s": round(percentile(ttfa, 0.5), 4),
            "ttfa_p95_s": round(percentile(ttfa, 0.95), 4), "frames_per_second": round(sum(frames) / wall, 2)}


def reference_bytes(server: ServerProcess) -> bytes:
    req = tts_pb2.SynthesizeRequest(text=TEXTS[0], seed=7, max_audio_duration_ms=1600, audio_format=tts_pb2.AudioFormat(
        encoding=tts_pb2.AUDIO_ENCODING_PCM_F32LE))
    return b"".join(r.audio.audio for r in server.stub().Synthesize(req, timeout=600) if r.WhichOneof("event") == "audio")


def serve(model: Path, device: str, graphs: bool, max_batch: int, streams: list[int], audio_ms: int) -> dict:
    server = ServerProcess(model, "--device", device, "--max-batch", str(max_batch), "--cuda-graphs",
                           "on" if graphs else "off", "--http-port", "0", metrics=False)
    t0 = time.monotonic()
    server.start(ready_timeout=900)
    try:
        started = round(time.monotonic() - t0, 1)
        reference = reference_bytes(server)
        return {"start_seconds": started, "reference": reference,
                "results": [measure(server, n, audio_ms) for n in streams]}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (the check) or cpu (the check's own test)")
    p.add_argument("--quick", action="store_true", help="tiny checkpoint, 1 and 2 streams, a few tests")
    p.add_argument("--out", type=Path, default=ROOT / "gpu-check.json")
    args = p.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu-check: CUDA is not available here (no GPU, or a CPU build of torch); this check needs a GPU. "
              "Run it on a GPU machine, or `python -m tools.gpu_check --device cpu --quick` to test the script.",
              file=sys.stderr)
        return 2
    t0 = time.monotonic()
    summary: dict = {"device": args.device, "torch": torch.__version__, "python": platform.python_version(),
                     "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else None,
                     "quick": args.quick}
    tiny = checkpoint("tiny")
    model = tiny if args.quick else checkpoint("real-0.6b-cv")
    summary["checkpoints_seconds"] = round(time.monotonic() - t0, 1)
    summary["tests"] = run_tests(args.device, args.quick, args.out.with_suffix(".junit.xml"))
    streams, audio_ms, max_batch = ([1, 2], 800, 2) if args.quick else ([1, 8, 32], 2000, 32)
    modes = {"eager": False, "graphs": True} if args.device.startswith("cuda") else {"eager": False}
    runs = {name: serve(model, args.device, graphs, max_batch, streams, audio_ms) for name, graphs in modes.items()}
    references = {name: run.pop("reference") for name, run in runs.items()}
    summary["server"] = {"model": model.name, "max_batch": max_batch, "audio_ms": audio_ms, **runs}
    summary["graphs_equal_eager"] = (references["graphs"] == references["eager"]) if "graphs" in references else None
    summary["seconds"] = round(time.monotonic() - t0, 1)
    ok = summary["tests"]["passed"] and summary["graphs_equal_eager"] is not False
    summary["ok"] = ok
    text = json.dumps(summary, indent=1)
    print(text)
    args.out.write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
