"""How many positions the static KV cache holds (from configuration, or from the device's free memory), how many
frames a request may use of it, and how large a context a known set of requests needs (offline sizing).

The cache is `slots x max_context` positions, each costing layers x 2 (K, V) x kv_heads x head_dim x dtype bytes
(229 KB in float32 for the 0.6B/1.7B talkers). When `max_context` is not configured it is 4096 positions (a prompt
and ~5 minutes of audio), or less: the largest multiple of 64 that fits `kv_fraction` of the memory left after
loading the weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from contract.request import SynthesisRequest
from tts.checkpoint.config import ModelConfig

MIN_CONTEXT = 256  # below this a slot cannot hold a sentence and its audio: refuse to start
DEFAULT_CONTEXT = 4096  # prompt + ~5 minutes of audio per slot, when memory allows
CONTEXT_ALIGN = 64
# Without an explicit duration bound, a request may run to 25 + 8 frames (0.64 s) per text token: far above any
# natural speaking rate, it only stops runaway generation (a missing EOS) from filling the context.
FRAMES_PER_TEXT_TOKEN, BASE_FRAMES = 8, 25
# The least audio a text can need: 2 frames (0.16 s) per token. Texts without room for that are refused.
MIN_FRAMES_PER_TEXT_TOKEN = 2
# Offline sizing bounds a prompt by its text's and instructions' UTF-8 bytes (tokens never exceed bytes) plus
# this margin (role, header, speaker tokens)...
PROMPT_MARGIN_TOKENS = 32
# ... plus, for a cloned voice, up to 30 s of reference (375 frames) and its transcript.
REFERENCE_CONTEXT = 375 + 1024


def max_frames_for_text(text_tokens: int, instructions: bool = False) -> int:
    """The runaway guard of a text segment (a request without a duration bound), with half as much again when
    instructions may ask for slow speech."""
    guard = BASE_FRAMES + FRAMES_PER_TEXT_TOKEN * max(text_tokens, 1)
    return guard * 3 // 2 if instructions else guard


def context_for(config: ModelConfig, requests: Iterable[SynthesisRequest]) -> int:
    """The context one slot needs to run the largest of `requests` to its frame bound (offline commands and
    in-process synthesis size their engine with it; equal sizes give equal audio)."""
    frame_ms = config.codec.samples_per_frame * 1000 // config.codec.sample_rate
    need = 0
    for r in requests:
        texts = [s.text for s in r.segments] or [r.text]
        bound = math.ceil(r.max_audio_duration_ms / frame_ms) if r.max_audio_duration_ms else 0
        for text in texts:  # each segment is its own generation: the largest one sizes the slot
            text_bytes = len(text.encode())
            prompt = text_bytes + len(r.instructions.encode()) + PROMPT_MARGIN_TOKENS
            if config.model_type == "base":
                prompt += REFERENCE_CONTEXT
            guard = max_frames_for_text(text_bytes, bool(r.instructions))
            frames = bound if bound and len(texts) == 1 else min(guard, bound or guard)
            need = max(need, prompt + frames)
    return min(config.talker.max_position_embeddings, need)


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
