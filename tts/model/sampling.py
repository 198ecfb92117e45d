"""Batched sampling: the official logits pipeline with per-row parameters, and per-request random streams.

Logits processing reproduces, row by row, what transformers 4.57.3 builds for the official `generate` call, in
its order, on float32 logits:
  1. repetition penalty over the row's previously generated codebook-0 tokens (talker only),
  2. EOS banned while fewer than `min_new_tokens` tokens exist (talker only),
  3. suppression of the non-codebook ids (talker only),
  4. (sampling rows) temperature, then top-k, then top-p when top_p < 1.
Greedy rows take the argmax after step 3, exactly like `do_sample=False`.

Randomness is counter-based: the noise for (seed, counter, stream, vocab index) is a fixed hash, and a token is
drawn by the Gumbel-max trick (argmax of logits + Gumbel noise), which samples exactly from softmax(logits). So
a request's samples depend only on its own seed and position, never on which other requests share the batch,
there is no generator state to carry between steps, and nothing syncs with the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from contract.request import Sampling
from tts.checkpoint.config import GenerationDefaults

_M32 = 0xFFFFFFFF
# Multipliers below 2**31 keep every product of two 32-bit values inside int64 (no overflow on any backend).
_MUL_A = 0x7FEB352D
_MUL_B = 0x5BD1E995


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer finaliser on int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * _MUL_A) & _M32
    x = x ^ (x >> 15)
    x = (x * _MUL_B) & _M32
    x = x ^ (x >> 16)
    return x


def uniform_noise(seed: torch.Tensor, counter: torch.Tensor, stream: int, vocab: int) -> torch.Tensor:
    """U(0,1) float32 noise [rows, vocab], a pure function of (seed, counter, stream, column)."""
    key = _mix32(seed & _M32)
    key = _mix32(key ^ ((seed >> 32) & _M32))
    key = _mix32(key ^ (counter & _M32))
    key = _mix32(key ^ stream)
    cols = torch.arange(vocab, device=seed.device, dtype=torch.int64)
    return bits_to_unit(_mix32(_mix32(key.unsqueeze(1) ^ cols) ^ 0x9E3779B9))


def bits_to_unit(bits: torch.Tensor) -> torch.Tensor:
    """32-bit integers -> float32 strictly inside (0, 1), so that the Gumbel noise -log(-log(u)) is finite.

    The top 23 bits plus one half: below 2**23 float32 holds every half-integer, so the sum and the scaling by
    2**-23 are exact and u ranges over [2**-24, 1 - 2**-24]. (With 24 bits, 2**24 - 0.5 rounds up to 2**24:
    u = 1, infinite noise, and a banned token's -inf + inf = NaN wins the argmax.)"""
    return ((bits >> 9).to(torch.float32) + 0.5) * (1.0 / (1 << 23))


@dataclass
class SamplingRows:
    """Per-row parameters of one sampler (talker or code predictor), all shaped [rows]."""

    greedy: torch.Tensor  # bool
    temperature: torch.Tensor  # float32, > 0
    top_k: torch.Tensor  # int64, 0 = off
    top_p: torch.Tensor  # float32 in (0, 1]

    @classmethod
    def allocate(cls, rows: int, device) -> SamplingRows:
        return cls(
            greedy=torch.zeros(rows, dtype=torch.bool, device=device),
            temperature=torch.ones(rows, dtype=torch.float32, device=device),
            top_k=torch.zeros(rows, dtype=torch.int64, device=device),
            top_p=torch.ones(rows, dtype=torch.float32, device=device),
        )

    def select(self, idx: slice) -> SamplingRows:
        return SamplingRows(self.greedy[idx], self.temperature[idx], self.top_k[idx], self.top_p[idx])

    def write(self, row: int, params: StageSampling) -> None:
        self.greedy[row], self.temperature[row] = params.greedy, params.temperature
        self.top_k[row], self.top_p[row] = params.top_k, params.top_p


@dataclass(frozen=True)
class StageSampling:
    """One sampler's resolved parameters (talker: codebook 0; code predictor: codebooks 1-15)."""

    greedy: bool
    temperature: float
    top_k: int
    top_p: float


@dataclass(frozen=True)
class ResolvedSampling:
    talker: StageSampling
    predictor: StageSampling
    repetition_penalty: float  # codebook 0 only


def resolve_sampling(s: Sampling, d: GenerationDefaults) -> ResolvedSampling:
    """A request's overrides over the checkpoint defaults: an override applies to both stages (as the API says);
    what it leaves unset keeps each stage's own default (generation_config.json has separate subtalker ones)."""
    pick = lambda mine, theirs: theirs if mine is None else mine  # noqa: E731

    def stage(do_sample: bool, temperature: float, top_k: int, top_p: float) -> StageSampling:
        return StageSampling(greedy=pick(s.greedy, not do_sample), temperature=pick(s.temperature, temperature),
                             top_k=pick(s.top_k, top_k), top_p=pick(s.top_p, top_p))

    return ResolvedSampling(
        talker=stage(d.do_sample, d.temperature, d.top_k, d.top_p),
        predictor=stage(d.subtalker_do_sample, d.subtalker_temperature, d.subtalker_top_k, d.subtalker_top_p),
        repetition_penalty=pick(s.repetition_penalty, d.repetition_penalty))


def penalize_repetition(logits: torch.Tensor, seen: torch.Tensor, penalty: torch.Tensor) -> torch.Tensor:
    """HF RepetitionPenaltyLogitsProcessor with a `seen` mask [rows, vocab] in place of the id history."""
    p = penalty.unsqueeze(1)
    return torch.where(seen, torch.where(logits < 0, logits * p, logits / p), logits)


def ban_tokens(logits: torch.Tensor, banned: torch.Tensor) -> torch.Tensor:
    """-inf where `banned` ([vocab] or [rows, vocab]) is True (HF suppress / min-new-tokens processors)."""
    return torch.where(banned, torch.full_like(logits, float("-inf")), logits)


def warp(logits: torch.Tensor, rows: SamplingRows) -> torch.Tensor:
    """HF temperature -> top-k -> top-p warpers with per-row parameters."""
    vocab = logits.shape[-1]
    scores = logits / rows.temperature.unsqueeze(1)
    # top-k: drop scores below the k-th largest (ties kept); k = 0 means off.
    k = torch.where(rows.top_k > 0, rows.top_k.clamp(max=vocab), torch.full_like(rows.top_k, vocab))
    kth = torch.sort(scores, dim=-1, descending=True).values.gather(1, (k - 1).unsqueeze(1))
    scores = scores.masked_fill(scores < kth, float("-inf"))
    # top-p: ascending sort, drop the low tail whose cumulative probability is <= 1 - p, keep the top token.
    sorted_scores, order = torch.sort(scores, dim=-1, descending=False)
    cum = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    drop_sorted = cum <= (1 - rows.top_p).unsqueeze(1)
    drop_sorted[:, -1] = False
    drop = drop_sorted.scatter(1, order, drop_sorted)
    drop = drop & (rows.top_p < 1).unsqueeze(1)  # the warper does not exist for top_p >= 1
    return scores.masked_fill(drop, float("-inf"))


def choose(processed: torch.Tensor, rows: SamplingRows, seed: torch.Tensor, counter: torch.Tensor,
           stream: int) -> torch.Tensor:
    """Greedy rows: argmax of the processed logits; sampling rows: Gumbel-max over the warped logits."""
    noise = uniform_noise(seed, counter, stream, processed.shape[-1])
    gumbel = -torch.log(-torch.log(noise))
    sampled = torch.argmax(warp(processed, rows) + gumbel, dim=-1)
    return torch.where(rows.greedy, torch.argmax(processed, dim=-1), sampled)
