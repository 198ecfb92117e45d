"""`python -m tts.cli synth-batch` (also `python -m workers synth-batch`): many requests through the continuous batcher, for bulk jobs.

Each JSONL line is one request with the fields of `synth`: id (required, unique, usable as a file name), text,
language, speaker, instruct, seed, greedy, max_frames. Every line is checked before any weights load; then the
requests run through one in-process engine with `--max-batch` slots, all at once or arriving as a Poisson
process at `--arrival-rate` requests per second (a fixed-seed schedule, so runs are comparable). Writes
OUT/<id>.wav (24 kHz mono float32) and OUT/<id>.npy (int64 codes [frames, 16]) and prints one JSON summary line.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

from contract.capabilities import Capabilities
from contract.request import SynthesisRequest
from contract.rules import InvalidRequest
from tts.cli.requests import cli_request

FIELDS = {"id", "text", "language", "speaker", "instruct", "seed", "greedy", "max_frames"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class JobError(ValueError):
    """The requests file has problems; the message lists them by line."""


@dataclass(frozen=True)
class Job:
    ids: list[str]
    requests: list[SynthesisRequest]


def read_requests(path: Path, caps: Capabilities) -> Job:
    problems, ids, requests = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise JobError(f"cannot read {path}: {e.strerror}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        unknown = sorted(set(obj) - FIELDS)
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
            continue
        rid = obj.get("id")
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            problems.append(f"{where}: id: required; letters, digits, '.', '_', '-', at most 128 characters")
            continue
        if rid in ids:
            problems.append(f"{where}: id: {rid!r} is used twice")
            continue
        try:
            req = _request(obj, caps)
        except InvalidRequest as e:
            problems += [f"{where}: {v}" for v in e.violations]
            continue
        except TypeError as e:
            problems.append(f"{where}: {e}")
            continue
        ids.append(rid)
        requests.append(req)
    if problems:
        raise JobError("; ".join(problems))
    if not requests:
        raise JobError(f"{path} has no requests")
    return Job(ids, requests)


def _request(obj: dict, caps: Capabilities) -> SynthesisRequest:
    def typed(name, kind, default=None):
        value = obj.get(name, default)
        if value is not None and not isinstance(value, kind) or isinstance(value, bool) and kind is int:
            raise TypeError(f"{name}: expected {kind.__name__}")
        return value

    return cli_request(caps, text=typed("text", str, ""), language=typed("language", str, "auto"),
                       voice=typed("speaker", str), instruct=typed("instruct", str), greedy=typed("greedy", bool, False),
                       seed=typed("seed", int), max_frames=typed("max_frames", int))


def run(engine, job: Job, out_dir: Path, arrival_rate: float | None) -> dict:
    """Run the job to the end; write the files; return the summary."""
    import numpy as np
    import soundfile as sf

    from tts.engine.engine import RequestError

    out_dir.mkdir(parents=True, exist_ok=True)
    arrivals = _arrivals(len(job.requests), arrival_rate)
    pending = list(range(len(job.requests)))
    seqs, frames = {}, {i: [] for i in pending}
    t0 = time.monotonic()

    def feed(idle: bool):
        """Submit the requests that have arrived (waiting for the next one when nothing runs)."""
        if not pending:
            return None
        now = time.monotonic() - t0
        if idle and arrivals[pending[0]] > now:
            time.sleep(arrivals[pending[0]] - now)
            now = arrivals[pending[0]]
        new = []
        while pending and arrivals[pending[0]] <= now:
            i = pending.pop(0)
            try:
                seq = engine.submit(job.requests[i])
            except RequestError as e:
                raise JobError(f"request {job.ids[i]}: {e}") from e
            seqs[seq.seq_id] = (i, seq)
            new.append(seq)
        return new

    for frame in engine.run([], feed):
        frames[seqs[frame.seq_id][0]].append(frame)
    wall = time.monotonic() - t0
    per_request = []
    for i, seq in seqs.values():
        evs = frames[i]
        codes = np.stack([e.codes for e in evs]) if evs else np.zeros((0, 16), np.int64)
        pcm = np.concatenate([e.pcm for e in evs]) if evs else np.zeros(0, np.float32)
        sf.write(out_dir / f"{job.ids[i]}.wav", pcm, engine.config.codec.sample_rate, subtype="FLOAT")
        np.save(out_dir / f"{job.ids[i]}.npy", codes.astype(np.int64))
        per_request.append({
            "id": job.ids[i], "frames": len(evs), "finish_reason": seq.finish_reason.value, "seed": seq.seed,
            "arrival_s": round(arrivals[i], 4),
            "queue_s": round(seq.admitted_at - seq.submitted_at, 4),
            "time_to_first_frame_s": round(seq.first_frame_at - seq.submitted_at, 4) if seq.first_frame_at else None,
        })
    total = sum(r["frames"] for r in per_request)
    frame_s = engine.config.codec.samples_per_frame / engine.config.codec.sample_rate
    return {"requests": len(per_request), "frames": total, "audio_seconds": round(total * frame_s, 2),
            "wall_seconds": round(wall, 3), "frames_per_second": round(total / wall, 3), "slots": engine.slots,
            "arrival_rate": arrival_rate, "per_request": per_request}


def _arrivals(n: int, rate: float | None) -> list[float]:
    if not rate:
        return [0.0] * n
    rng, t, out = random.Random(0), 0.0, []
    for _ in range(n):
        out.append(t)
        t += rng.expovariate(rate)
    return out
