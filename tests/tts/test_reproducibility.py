"""A row's numerics do not depend on its position in a batch or on the thread that computes it."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from tts import mkl_reproducibility

pytestmark = pytest.mark.usefixtures("two_threads")  # the rows of a batch are split among the threads


def test_mkl_is_strictly_reproducible_on_amd():
    if mkl_reproducibility.AMD:
        assert os.environ["MKL_CBWR"]  # AUTO,STRICT unless the operator chose another


@pytest.mark.skipif(not mkl_reproducibility.AMD, reason="checked on AMD, where tts sets MKL_CBWR; on the Sapphire "
                    "Rapids the batching tests were bit-exact without it, this shape was not checked there")
def test_a_decode_query_gets_the_same_attention_bits_in_any_row_of_any_batch():
    """The talker's decode-step attention (1 query, grouped KV heads): identical rows of a 2- and an 8-row batch
    give identical bits (on an AMD EPYC Zen 5 without MKL_CBWR the second half of the batch, computed by the
    second thread, came out different)."""
    torch.manual_seed(0)
    q, k, v = torch.randn(1, 16, 1, 128), torch.randn(1, 8, 64, 128), torch.randn(1, 8, 64, 128)
    mask = torch.ones(1, 1, 1, 64, dtype=torch.bool)
    out = {n: F.scaled_dot_product_attention(q.expand(n, -1, -1, -1).contiguous(), k.expand(n, -1, -1, -1).contiguous(),
                                             v.expand(n, -1, -1, -1).contiguous(), attn_mask=mask.expand(n, -1, -1, -1),
                                             enable_gqa=True) for n in (2, 8)}
    assert all(torch.equal(out[8][i], out[2][0]) for i in range(8))
    assert torch.equal(out[2][1], out[2][0])
