"""Sampling: our batched logits pipeline equals transformers' processors row by row; the random streams are
deterministic per (seed, position), independent of the batch, and draw from the right distribution."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinNewTokensLengthLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from tts.model.sampling import (
    SamplingRows,
    ban_tokens,
    bits_to_unit,
    choose,
    penalize_repetition,
    uniform_noise,
    warp,
)

VOCAB, EOS = 3072, 2150
SUPPRESSED = [i for i in range(VOCAB - 1024, VOCAB) if i != EOS]

row_params = st.fixed_dictionaries({
    "penalty": st.floats(0.5, 2.0),
    "temperature": st.floats(0.05, 3.0),
    "top_k": st.integers(0, 80),
    "top_p": st.one_of(st.just(1.0), st.floats(0.05, 0.999)),
    "history": st.lists(st.integers(0, VOCAB - 1), max_size=30),
    "generated": st.integers(0, 4),
})


def _hf_row(logits: torch.Tensor, p: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(processed, warped) for one row, built the way transformers' generate() builds them."""
    ids = torch.tensor([p["history"]], dtype=torch.long)
    # generate() counts new tokens from the prompt length; the talker prompt is embeddings (0 ids).
    ids_for_len = torch.zeros((1, p["generated"]), dtype=torch.long) if not p["history"] else ids
    procs = LogitsProcessorList()
    if p["penalty"] != 1.0 and p["history"]:
        procs.append(RepetitionPenaltyLogitsProcessor(p["penalty"]))
    out = procs(ids, logits.clone()) if len(procs) else logits.clone()
    out = MinNewTokensLengthLogitsProcessor(0, 2, EOS)(torch.zeros((1, p["generated"]), dtype=torch.long), out)
    out = SuppressTokensLogitsProcessor(SUPPRESSED)(ids_for_len, out)
    warped = out.clone()
    if p["temperature"] != 1.0:
        warped = TemperatureLogitsWarper(p["temperature"])(ids_for_len, warped)
    if p["top_k"] != 0:
        warped = TopKLogitsWarper(p["top_k"])(ids_for_len, warped)
    if p["top_p"] < 1.0:
        warped = TopPLogitsWarper(p["top_p"])(ids_for_len, warped)
    return out, warped


def _ours(logits: torch.Tensor, params: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(params)
    seen = torch.zeros(n, VOCAB, dtype=torch.bool)
    for i, p in enumerate(params):
        if p["history"]:
            seen[i, p["history"]] = True
    penalty = torch.tensor([p["penalty"] for p in params], dtype=torch.float32)
    generated = torch.tensor([p["generated"] for p in params])
    eos_mask = torch.zeros(VOCAB, dtype=torch.bool)
    eos_mask[EOS] = True
    suppress = torch.zeros(VOCAB, dtype=torch.bool)
    suppress[SUPPRESSED] = True
    out = penalize_repetition(logits, seen, penalty)
    out = ban_tokens(out, eos_mask.unsqueeze(0) & (generated < 2).unsqueeze(1))
    out = ban_tokens(out, suppress)
    rows = SamplingRows(
        greedy=torch.zeros(n, dtype=torch.bool),
        temperature=torch.tensor([p["temperature"] for p in params], dtype=torch.float32),
        top_k=torch.tensor([p["top_k"] for p in params]),
        top_p=torch.tensor([p["top_p"] for p in params], dtype=torch.float32),
    )
    return out, warp(out, rows)


@settings(max_examples=40, deadline=None)
@given(params=st.lists(row_params, min_size=1, max_size=4), seed=st.integers(0, 2**31))
def test_processed_logits_equal_transformers_processors(params, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(len(params), VOCAB, generator=g) * 3
    # Ties exercise top-k's "keep ties" rule and top-p's sort order.
    logits[:, 100:110] = logits[:, 99:100]
    ours_processed, ours_warped = _ours(logits, params)
    for i, p in enumerate(params):
        hf_processed, hf_warped = _hf_row(logits[i:i + 1], p)
        assert torch.equal(ours_processed[i:i + 1], hf_processed), f"row {i} processed differs: {p}"
        assert torch.equal(ours_warped[i:i + 1], hf_warped), f"row {i} warped differs: {p}"


def test_code_predictor_warping_equals_transformers():
    """The predictor uses the warpers only (vocabulary 2048), with its own temperature/top-k/top-p."""
    logits = torch.randn(3, 2048, generator=torch.Generator().manual_seed(1))
    rows = SamplingRows(torch.zeros(3, dtype=torch.bool), torch.tensor([0.9, 0.7, 1.3]), torch.tensor([50, 5, 0]),
                        torch.tensor([1.0, 0.8, 0.5]))
    ours = warp(logits, rows)
    for i, (t, k, p) in enumerate([(0.9, 50, 1.0), (0.7, 5, 0.8), (1.3, 0, 0.5)]):
        ref = TemperatureLogitsWarper(t)(None, logits[i:i + 1].clone())
        ref = TopKLogitsWarper(k)(None, ref) if k else ref
        ref = TopPLogitsWarper(p)(None, ref) if p < 1 else ref
        assert torch.equal(ours[i:i + 1], ref)


def test_noise_is_a_pure_function_of_seed_counter_and_stream():
    seeds = torch.tensor([7, 2**62 + 5, 7])
    counters = torch.tensor([3, 3, 4])
    a = uniform_noise(seeds, counters, stream=2, vocab=2048)
    b = uniform_noise(seeds, counters, stream=2, vocab=2048)
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[2])  # another frame
    assert not torch.equal(a[0], uniform_noise(seeds, counters, stream=3, vocab=2048)[0])  # another codebook
    assert not torch.equal(a[0], a[1])  # another seed
    # A row's noise does not depend on its neighbours.
    alone = uniform_noise(seeds[1:2], counters[1:2], stream=2, vocab=2048)
    assert torch.equal(alone[0], a[1])
    assert 0 < a.min() and a.max() < 1


def test_gumbel_max_draws_from_the_softmax():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, float("-inf")]])
    n = 20000
    rows = SamplingRows(torch.zeros(n, dtype=torch.bool), torch.ones(n), torch.zeros(n, dtype=torch.int64),
                        torch.ones(n))
    draws = choose(logits.expand(n, -1), rows, torch.arange(n), torch.zeros(n, dtype=torch.int64), stream=0)
    freq = np.bincount(draws.numpy(), minlength=5) / n
    expected = torch.softmax(logits, -1)[0].numpy()
    assert freq[4] == 0
    # 5 sigma of a binomial proportion at n = 20000 is < 0.018.
    np.testing.assert_allclose(freq, expected, atol=0.018)


def test_greedy_rows_take_the_argmax_of_processed_logits():
    logits = torch.randn(2, 300, generator=torch.Generator().manual_seed(3))
    rows = SamplingRows(torch.tensor([True, False]), torch.tensor([0.01, 50.0]), torch.tensor([0, 0]),
                        torch.tensor([1.0, 1.0]))
    out = choose(logits, rows, torch.tensor([1, 2]), torch.tensor([0, 0]), stream=0)
    assert out[0] == logits[0].argmax()


def test_noise_stays_strictly_inside_0_1_so_a_banned_token_is_never_drawn():
    """The extreme hash values map inside (0, 1): u = 1 would make the Gumbel noise +inf, and -inf + inf = NaN,
    which argmax picks — a suppressed id (outside the codec's codebook) sampled by the talker, a crash in the codec.
    Found by a stream that hit it after 39 frames."""
    bits = torch.tensor([0, 1, 511, 512, (1 << 31), (1 << 32) - 513, (1 << 32) - 1], dtype=torch.int64)
    u = bits_to_unit(bits)
    assert (u > 0).all() and (u < 1).all()
    gumbel = -torch.log(-torch.log(u))
    assert torch.isfinite(gumbel).all()
    assert u[0] == 2.0**-24 and u[-1] == 1 - 2.0**-24
    # and the whole path: every id but one banned, extreme noise everywhere -> always the allowed id
    logits = ban_tokens(torch.zeros(1, 8), torch.arange(8) != 5)
    rows = SamplingRows.allocate(1, "cpu")
    for seed in range(200):
        assert choose(logits, rows, torch.tensor([seed]), torch.tensor([0]), stream=0).item() == 5
