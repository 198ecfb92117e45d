"""How many positions the static KV cache can hold: from configuration, or from the device's free memory.

The cache is `slots x max_context` positions, each costing layers x 2 (K, V) x kv_heads x head_dim x dtype bytes
(229 KB in float32 for the 0.6B/1.7B talkers). When `max_context` is not configured it is 4096 positions (a prompt
and ~5 minutes of audio), or less: the largest multiple of 64 that fits `kv_fraction` of the memory left after
loading the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workers.config import ModelConfig

MIN_CONTEXT = 256  # below this a slot cannot hold a sentence and its audio: refuse to start
DEFAULT_CONTEXT = 4096  # prompt + ~5 minutes of audio per slot, when memory allows
CONTEXT_ALIGN = 64


@dataclass(frozen=True)
class CachePlan:
    slots: int
    max_context: int
    bytes_per_position: int

    @property
    def kv_bytes(self) -> int:
        return self.slots * self.max_context * self.bytes_per_position


def bytes_per_position(config: ModelConfig, dtype: torch.dtype) -> int:
    d = config.talker.dims
    return d.num_layers * 2 * d.num_kv_heads * d.head_dim * torch.empty((), dtype=dtype).element_size()


def available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free
    with open("/proc/meminfo", encoding="ascii") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) * 1024


def plan_cache(config: ModelConfig, dtype: torch.dtype, device: torch.device, slots: int,
               max_context: int | None, kv_fraction: float = 0.5) -> CachePlan:
    per = bytes_per_position(config, dtype)
    limit = config.talker.max_position_embeddings
    if max_context is None:
        fit = int(available_bytes(device) * kv_fraction) // (per * slots)
        max_context = min(limit, DEFAULT_CONTEXT, fit // CONTEXT_ALIGN * CONTEXT_ALIGN)
        if max_context < MIN_CONTEXT:
            raise MemoryError(
                f"{slots} slots leave room for only {max_context} cache positions each ({per} bytes per position); "
                f"lower max_batch or free memory")
    elif not 1 <= max_context <= limit:
        raise ValueError(f"max_context must be in [1, {limit}] for this model, got {max_context}")
    return CachePlan(slots, max_context, per)
