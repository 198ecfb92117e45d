"""The decode step's fixed shapes (tts/engine/graphs.py), checked on CPU: every (rows, cache length) a step can
use is among the captured ones, and a step replayed from static buffers gives the plain step's bits. (On CUDA
the replay is a CUDA graph; `make gpu-check` runs the same engine there.)"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.request import SynthesisRequest
from tts.engine.graphs import StaticSteps, kv_bucket_for, kv_buckets, row_buckets
from tts.engine.loader import load_engine
from tts.engine.runner import ModelRunner


def test_buckets():
    assert row_buckets(1) == [1] and row_buckets(2) == [2] and row_buckets(3) == [2, 3]
    assert row_buckets(8) == [2, 4, 8] and row_buckets(12) == [2, 4, 8, 12]
    assert kv_buckets(4096, 256) == list(range(256, 4097, 256)) and kv_buckets(1000, 256) == [256, 512, 768, 1000]
    assert kv_bucket_for(1, 256, 4096) == 256 and kv_bucket_for(257, 256, 4096) == 512
    assert kv_bucket_for(999, 256, 1000) == 1000


@settings(max_examples=300, deadline=None)
@given(slots=st.integers(1, 40), data=st.data())
def test_every_shape_a_step_uses_is_captured(slots, data):
    highest = data.draw(st.integers(0, slots - 1))
    context = data.draw(st.integers(256, 8192))
    longest = data.draw(st.integers(1, context))
    runner = ModelRunner.__new__(ModelRunner)  # decode_rows needs only the slot count and the row minimum
    runner.slots, runner.min_rows = slots, 2  # 2: a step with float products (every CUDA mode)
    rows = runner.decode_rows(highest)
    assert rows in row_buckets(slots) and rows > highest
    assert kv_bucket_for(longest, 256, context) in kv_buckets(context, 256)


def test_replayed_steps_equal_plain_steps_bit_for_bit(tiny_ckpt):
    reqs = [SynthesisRequest(text="Replayed from static buffers.", voice="ryan", seed=3, max_audio_duration_ms=1600),
            SynthesisRequest(text="A neighbour in the batch.", voice="vivian", seed=4, max_audio_duration_ms=2400)]

    def run(static: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        engine = load_engine(str(tiny_ckpt), slots=2, max_context=512)
        runner = engine.runner
        runner.set_codec_batching("all-slots")  # the codec over every slot, as on CUDA, in both runs
        if static:  # what capture_graphs() sets up on CUDA, with eager replays (no CUDA graph on a CPU)
            runner.graphs = StaticSteps(runner._step, runner.slots, runner.device, runner.codec_state.snapshot,
                                        lambda saved: runner.codec_state.restore(saved, runner._all_slots))
            assert runner.graphs.capture_all(row_buckets(2), kv_buckets(512, runner.kv_bucket)) == 8
        seqs = [engine.submit(r) for r in reqs]
        frames = {s.seq_id: [] for s in seqs}
        for f in engine.run(seqs):
            frames[f.seq_id].append(f)
        return [(np.stack([f.codes for f in frames[s.seq_id]]), np.concatenate([f.pcm for f in frames[s.seq_id]]))
                for s in seqs]

    plain, static = run(False), run(True)
    for (codes, pcm), (codes2, pcm2) in zip(plain, static, strict=True):
        assert codes.shape[0] >= 20
        np.testing.assert_array_equal(codes, codes2)
        np.testing.assert_array_equal(pcm, pcm2)
