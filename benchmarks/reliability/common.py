"""Shared by the long reliability runs (soak, load curve): the tiny checkpoints, a sampler of the server's and
its workers' resource use every N seconds, metrics, percentiles, and where results go (out/reliability/)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.e2e import ROOT, ServerProcess, scrape
from tests.reliability import procstat

# torch's OpenMP threads spin-wait by default; on a shared 2-core machine that starves everything else (a tiny
# stream ran 10x slower). The servers these runs start inherit this.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
OUT = ROOT / "out" / "reliability"
CKPTS = ROOT / ".cache" / "checkpoints"


def checkpoint(preset: str) -> Path:
    """A random-weight checkpoint of `preset` under .cache/checkpoints (built once)."""
    path = CKPTS / preset
    if not (path / "config.json").is_file():
        from tools.make_checkpoint import make_checkpoint

        print(f"building the {preset} checkpoint in {path}", flush=True)
        make_checkpoint(preset, path, 0)
    return path


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def percentile(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


@dataclass
class Sample:
    t: float  # seconds since the run began
    phase: str
    procs: dict[str, dict]  # "server" / "worker0"... -> {pid, rss_kb, fds, threads}
    gauges: dict[str, float] = field(default_factory=dict)


class Sampler:
    """Every `interval` s: RSS, open fds and threads of the server and each worker, and the server's gauges."""

    def __init__(self, server: ServerProcess, interval: float = 10.0):
        self.server, self.interval = server, interval
        self.samples: list[Sample] = []
        self.phase = "start"
        self.t0 = time.monotonic()

    def take(self) -> Sample:
        procs = {"server": asdict(procstat.usage(self.server.proc.pid))}
        for i, pid in enumerate(procstat.workers(self.server.proc.pid)):
            procs[f"worker{i}"] = asdict(procstat.usage(pid))
        s = scrape(self.server)
        gauges = {"running": s.get("qwen3tts_requests_running"), "paused": s.get("qwen3tts_requests_paused"),
                  "waiting": s.total("qwen3tts_requests_waiting"),
                  "free_slots": s.total("qwen3tts_worker_free_slots"),
                  "restarts": s.total("qwen3tts_worker_restarts_total")}
        sample = Sample(round(time.monotonic() - self.t0, 1), self.phase, procs, gauges)
        self.samples.append(sample)
        return sample

    async def run(self) -> None:
        while True:
            await asyncio.to_thread(self.take)
            await asyncio.sleep(self.interval)


def growth(samples: list[Sample], proc: str, key: str, warmup_s: float) -> dict:
    """Growth of `key` of `proc` after warm-up: the mean of the last 3 samples against the first 3 after it."""
    xs = [s.procs[proc][key] for s in samples if s.t >= warmup_s and proc in s.procs]
    if len(xs) < 6:
        return {"after_warmup": None, "end": None, "growth": None}
    first, last = sum(xs[:3]) / 3, sum(xs[-3:]) / 3
    return {"after_warmup": round(first, 1), "end": round(last, 1), "max": max(xs),
            "growth": round((last - first) / first, 4) if first else 0.0}


def write_json(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_text(json.dumps(data, indent=1, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__")
                               else str(o)))
    return path
