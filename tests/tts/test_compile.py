"""The batched decode step compiles as one graph (torch.compile fullgraph=True) on CPU and gives the same codes.

Slow (a cold compile takes minutes on 2 cores): `make test-slow`. Static shapes except the attended cache
length, which is dynamic: requests that cross several 64-position buckets run without recompiling; each row
bucket (2, 4, 8, ... leading slots) is a shape of its own.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters
from torch._inductor import metrics
from torch._inductor.scheduler import ExternKernelSchedulerNode

from contract.request import GREEDY, Sampling, SynthesisRequest
from tts.checkpoint.config import DecoderDims
from tts.engine.engine import Engine
from tts.engine.loader import load_engine
from tts.model.layers import DecoderStack

# A cold inductor compile alone can take most of the default 600 s test timeout on 2 cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _run(engine: Engine) -> list[np.ndarray]:
    reqs = [
        SynthesisRequest(text="Hello world, this is a test.", voice="ryan", language="english",
                         sampling=GREEDY, max_audio_duration_ms=150 * 80),
        SynthesisRequest(text="今天天气很好。", voice="vivian", language="chinese", seed=5, max_audio_duration_ms=90 * 80),
        SynthesisRequest(text="Sampled with top-p.", voice="eric", sampling=Sampling(top_p=0.7), seed=6,
                         max_audio_duration_ms=40 * 80),
    ]
    seqs = {engine.submit(r).seq_id: i for i, r in enumerate(reqs)}
    codes = {i: [] for i in seqs.values()}
    while engine.has_work:
        for ev in engine.step():
            codes[seqs[ev.seq_id]].append(ev.codes)
    return [np.stack(codes[i]) for i in range(len(reqs))]


def test_compiled_step_gives_the_eager_codes(tiny_17b_ckpt):
    engine = load_engine(str(tiny_17b_ckpt), slots=4, max_context=256)
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # exact lengths: no early EOS
    eager = _run(engine)
    engine.runner.compile()
    counters.clear()
    compiled = _run(engine)
    # One graph per row bucket the run used (4 rows, then 2 once the short request has left) and none per cache
    # length: the requests cross the 64 -> 128 -> 192 kv-length buckets without recompiling.
    assert 1 <= counters["stats"]["unique_graphs"] <= 2
    for a, b in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(eager[0]) == 150  # crosses kv-length buckets 64 -> 128 -> 192


def test_a_compiled_layer_writes_the_kv_cache_in_place():
    """Compiled, a cache write through a view of the cache's rows (`cache.k[rows][idx] = ...`) became generated
    copy loops over the cache's positions on every call: at the server's context a lone stream got ~2.5x
    slower (docs/benchmarks.md, "The KV cache at the server's context length"). tts/model/layers.py writes into
    the cache itself, one in-place index_put; none of inductor's own kernels then touches a slot's cache."""
    dims = DecoderDims(hidden_size=64, intermediate_size=128, num_layers=1, num_heads=4, num_kv_heads=2,
                       head_dim=16, rms_norm_eps=1e-6, rope_theta=10000.0)
    stack = DecoderStack(dims)
    stack.allocate(8, 4096, torch.float32, "cpu")
    slot_elements = 2 * stack.caches[0].k[0].numel()  # one slot's keys and values
    x, positions, mask = torch.randn(1, 1, 64), torch.tensor([[100]]), torch.ones(1, 1, 1, 128, dtype=torch.bool)
    torch._logging.set_logs(inductor_metrics=True)  # inductor counts each kernel's elements only when logging
    metrics.reset()
    try:
        with torch._inductor.config.patch(force_disable_caches=True), torch.no_grad():
            out = torch.compile(stack, fullgraph=True, dynamic=False)(x, positions, slice(3, 4), mask)
    finally:
        torch._logging.set_logs()
    assert out.shape == (1, 1, 64)
    generated = [n for node, n in metrics.nodes_num_elem if not isinstance(node, ExternKernelSchedulerNode)]
    assert generated and max(generated) < slot_elements // 16, (max(generated), slot_elements)
    for written in (stack.caches[0].k, stack.caches[0].v):  # slot 3, position 100, and nothing else
        assert written[3, :, 100].abs().sum() > 0
        written[3, :, 100] = 0
        assert not written.any()
