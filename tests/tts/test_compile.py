"""The batched decode step compiles as one graph (torch.compile fullgraph=True) on CPU and gives the same codes.

Slow (a cold compile takes minutes on 2 cores): `make test-slow`. Static shapes except the attended cache
length, which is dynamic: requests that cross several 64-position buckets run without recompiling; each row
bucket (2, 4, 8, ... leading slots) is a shape of its own.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch._dynamo.utils import counters

from contract.request import GREEDY, Sampling, SynthesisRequest
from tts.engine.engine import Engine
from tts.engine.loader import load_engine

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
