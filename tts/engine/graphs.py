"""The decode step as fixed-shape replays: one per (row bucket, KV-length bucket), captured once at warm-up.

A step's work — the code predictor's 15 passes, the talker token, sampling, and the codec step of every slot
(held slots' codec state put back) — depends only on its shape: the rows it covers and the attended cache
length. `StaticSteps` gives each (rows, kv_len) pair its own input buffers (the active mask, the held mask),
keys and output tensors, and a replay:

- on CUDA the work is captured as a CUDA graph (`torch.cuda.CUDAGraph`): a replay is one launch, no Python
  and no per-kernel launch overhead, no host synchronisation inside; the caller copies the masks in, replays,
  and copies the outputs out through pinned host buffers (the one sync of a step);
- elsewhere (CPU) a replay runs the same function eagerly into the same buffers, so the plumbing — buckets,
  buffers, masks — is the code the CPU tests exercise, and a replay equals the plain step bit for bit.

Captures happen before serving (`capture`), for every pair the engine can meet: rows 2, 4, 8, ... up to the
slots (1 for a 1-slot engine) and cache lengths in steps of `kv_bucket` up to the context. The model's slot
state, KV cache and the codec state are static buffers already, updated in place by every replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# Cache lengths on CUDA come in steps of this many positions: few graphs (16 per row bucket at 4096), and at
# most 255 masked positions of wasted attention per step.
CUDA_KV_BUCKET = 256

StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def row_buckets(slots: int) -> list[int]:
    """The row counts a step can cover (see ModelRunner.decode_rows): 2, 4, 8, ... capped at `slots`."""
    if slots == 1:
        return [1]
    out, rows = [], 2
    while rows < slots:
        out.append(rows)
        rows *= 2
    return [*out, slots]


def kv_buckets(max_context: int, bucket: int) -> list[int]:
    """The attended cache lengths a step can use: multiples of `bucket`, the last one the whole context."""
    out = list(range(bucket, max_context, bucket))
    return [*out, max_context]


def kv_bucket_for(longest: int, bucket: int, max_context: int) -> int:
    """The cache length a step attends when its longest sequence needs `longest` positions."""
    return min(-(-longest // bucket) * bucket, max_context)


@dataclass
class _Replay:
    active: torch.Tensor  # bool [rows], copied in before a replay
    held: torch.Tensor  # bool [slots]
    keys: torch.Tensor  # arange(kv_len), constant
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # codes [rows, 16], next [rows], pcm
    graph: torch.cuda.CUDAGraph | None = None


class StaticSteps:
    def __init__(self, step: StepFn, slots: int, device: torch.device, snapshot: Callable[[], object],
                 restore: Callable[[object], None]):
        """`step(active, keys, held)`: the whole step; `snapshot`/`restore`: the state a capture's warm-up run
        must leave as it found it (the codec state: it advances every slot)."""
        self.step, self.slots, self.device = step, slots, device
        self._snapshot, self._restore = snapshot, restore
        self._replays: dict[tuple[int, int], _Replay] = {}
        self.graphs = device.type == "cuda"
        self._pool = torch.cuda.graph_pool_handle() if self.graphs else None

    def __len__(self) -> int:
        return len(self._replays)

    @torch.inference_mode()
    def capture(self, rows: int, kv_len: int) -> None:
        """Prepare the replay of one shape (on CUDA: warm it up, then capture it as a graph)."""
        r = _Replay(active=torch.zeros(rows, dtype=torch.bool, device=self.device),
                    held=torch.zeros(self.slots, dtype=torch.bool, device=self.device),
                    keys=torch.arange(kv_len, device=self.device))
        if self.graphs:
            # Warm-up runs execute (allocations, autotuning) with every row inactive: the slot state does not
            # move; the codec state does, so it is put back. A capture records and executes nothing.
            saved = self._snapshot()
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self.step(r.active, r.keys, r.held)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            self._restore(saved)
            r.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(r.graph, pool=self._pool):
                r.outputs = self.step(r.active, r.keys, r.held)
        self._replays[(rows, kv_len)] = r

    def capture_all(self, row_counts: list[int], kv_lengths: list[int]) -> int:
        for rows in row_counts:
            for kv_len in kv_lengths:
                self.capture(rows, kv_len)
        return len(self._replays)

    def has(self, rows: int, kv_len: int) -> bool:
        return (rows, kv_len) in self._replays

    @torch.inference_mode()
    def replay(self, active: torch.Tensor, kv_len: int, held: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step for these masks (host or device bool tensors of [rows] and [slots]); returns its outputs
        (codes, next codebook-0, pcm), device tensors that the next replay of this shape overwrites."""
        r = self._replays[(active.shape[0], kv_len)]
        r.active.copy_(active, non_blocking=True)
        r.held.copy_(held, non_blocking=True)
        if r.graph is not None:
            r.graph.replay()
            return r.outputs
        return self.step(r.active, r.keys, r.held)
