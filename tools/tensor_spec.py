"""Name, shape and initialisation of one checkpoint tensor, and its deterministic random values.

A checkpoint is described as a table of `TensorSpec`s before any memory is allocated, so parameter counts can
be checked without building the tensors and the writer can stream them one by one. Each tensor draws from its
own generator, seeded from (checkpoint seed, tensor name): a tensor's values do not depend on which other
tensors exist or on the order they are written in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

# Values are generated in slices of at most this many elements so the 311 M-element text embedding of the
# real-dimension preset never needs a second full-size buffer.
CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Normal:
    std: float
    mean: float = 0.0


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float


@dataclass(frozen=True)
class Constant:
    value: float


Init = Normal | Uniform | Constant


def torch_default(fan_in: int) -> Uniform:
    """PyTorch's default Linear/Conv weight and bias init (kaiming_uniform, a=sqrt(5)): U(±1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return Uniform(-bound, bound)


def fan_in_std(fan_in: int, gain: float = 1.0) -> Normal:
    """N(0, gain/sqrt(fan_in)): with gain 1, keeps activations at unit scale through a matmul."""
    return Normal(gain / math.sqrt(fan_in))


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    init: Init

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def _tensor_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def chunks(spec: TensorSpec, seed: int) -> Iterator[torch.Tensor]:
    """The tensor's float32 values as consecutive flat row slices; a function of (seed, name, shape, init)."""
    gen = torch.Generator().manual_seed(_tensor_seed(seed, spec.name))
    init = spec.init
    row = math.prod(spec.shape[1:])
    rows_per_chunk = max(1, CHUNK_ELEMENTS // row)
    total_rows = spec.shape[0] if spec.shape else 1
    for start in range(0, total_rows, rows_per_chunk):
        buf = torch.empty(min(rows_per_chunk, total_rows - start) * row, dtype=torch.float32)
        if isinstance(init, Normal):
            buf.normal_(init.mean, init.std, generator=gen)
        elif isinstance(init, Uniform):
            buf.uniform_(init.low, init.high, generator=gen)
        else:
            buf.fill_(init.value)
        yield buf


def materialize(spec: TensorSpec, seed: int) -> torch.Tensor:
    """The whole tensor (for small tensors and tests; the writer streams `chunks` instead)."""
    return torch.cat(list(chunks(spec, seed))).view(spec.shape)
