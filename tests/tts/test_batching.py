"""Continuous batching in the engine: a request's codes and samples do not depend on its neighbours, on when
it joined, on pauses, or on cancellations around it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
import torch

from contract.request import GREEDY, Sampling, SynthesisRequest
from tests.conftest import TEST_DEVICE, WORKER_THREADS, torch_threads
from tts.engine.engine import Engine, RequestError
from tts.engine.loader import load_engine
from tts.engine.sequence import FinishReason

SLOTS = 8
EN, ZH = "Hello world, this is a test of the system.", "今天天气很好，我们去公园散步吧。"


def _engine(ckpt) -> Engine:
    return load_engine(str(ckpt), slots=SLOTS, max_context=320, prefill_chunk=16, prefill_budget=32,
                       idle_prefill_budget=256, device=TEST_DEVICE, dtype="float32")  # the exact numerics


def _requests() -> list[SynthesisRequest]:
    """Mixed voices, languages, instructions, greedy and seeded sampling; several run past the codec's
    72-frame window."""
    greedy = GREEDY
    return [
        SynthesisRequest(text=EN, voice="ryan", language="english", sampling=greedy, max_audio_duration_ms=90 * 80),
        SynthesisRequest(text=ZH, voice="vivian", language="chinese", seed=11, max_audio_duration_ms=80 * 80),
        SynthesisRequest(text=EN, voice="serena", language="english", instructions="Whisper, slowly.", seed=12,
                         max_audio_duration_ms=30 * 80),
        SynthesisRequest(text=ZH, voice="eric", language="auto", sampling=greedy, max_audio_duration_ms=75 * 80),
        SynthesisRequest(text=EN * 3, voice="aiden", language="auto", seed=13, max_audio_duration_ms=40 * 80),
        SynthesisRequest(text=EN, voice="dylan", language="chinese", sampling=Sampling(temperature=0.6, top_p=0.8),
                         seed=14, max_audio_duration_ms=50 * 80),
        SynthesisRequest(text=ZH, voice="uncle_fu", language="chinese", seed=15, max_audio_duration_ms=25 * 80, non_streaming=False),
        SynthesisRequest(text=EN, voice="ryan", language="english", instructions="Angry.", sampling=greedy,
                         max_audio_duration_ms=60 * 80),
    ]


def _run(engine: Engine, schedule: dict[int, list[SynthesisRequest]], *, cancel_at: dict[int, int] | None = None,
         credits: dict[int, int] | None = None, refill_at: dict[int, int] | None = None):
    """Drive the engine step by step: schedule = {step: [requests submitted before that step]}.
    Returns {request index: (codes, pcm, finish reason)} in submission order."""
    out, ids, step = {}, {}, 0
    order = [r for s in sorted(schedule) for r in schedule[s]]
    while step <= max(schedule) or engine.has_work:
        for req in schedule.get(step, []):
            i = order.index(req)
            seq = engine.submit(req, credit=(credits or {}).get(i))
            ids[seq.seq_id] = i
            out[i] = ([], [], None)
        for i, at in (cancel_at or {}).items():
            if at == step:
                engine.cancel(next(k for k, v in ids.items() if v == i))
        for i, at in (refill_at or {}).items():
            if at == step:
                engine.add_credit(next(k for k, v in ids.items() if v == i), 1000)
        for ev in engine.step():
            codes, pcm, _ = out[ids[ev.seq_id]]
            codes.append(ev.codes)
            pcm.append(ev.pcm)
            out[ids[ev.seq_id]] = (codes, pcm, ev.ended and ev.ended.reason)
        step += 1
    return {i: (np.stack(c), np.concatenate(p), r) for i, (c, p, r) in out.items() if c}


@pytest.fixture(scope="module")
def engine(tiny_17b_ckpt) -> Iterator[Engine]:
    # The module runs with a worker's threads (the rest of the suite with one): the batching guarantee must hold
    # whichever thread computes a row.
    with torch_threads(WORKER_THREADS):
        yield _engine(tiny_17b_ckpt)


@pytest.fixture(scope="module")
def alone(engine) -> dict[int, tuple]:
    return {i: _run(engine, {0: [r]})[0] for i, r in enumerate(_requests())}


def test_each_request_in_a_staggered_batch_of_8_equals_itself_alone(engine, alone):
    reqs = _requests()
    # Arrivals while others are mid-stream, including after the first requests passed 72 frames.
    batched = _run(engine, {0: reqs[:3], 4: reqs[3:5], 17: [reqs[5]], 74: reqs[6:]})
    assert engine.stats()["free_slots"] == SLOTS
    for i in range(len(reqs)):
        codes, pcm, reason = batched[i]
        ref_codes, ref_pcm, ref_reason = alone[i]
        assert reason == ref_reason
        np.testing.assert_array_equal(codes, ref_codes, err_msg=f"request {i} codes differ in the batch")
        np.testing.assert_array_equal(pcm, ref_pcm, err_msg=f"request {i} samples differ in the batch")
    assert max(len(c) for c, _, _ in batched.values()) > 72


def test_on_cpu_a_batched_stream_is_its_offline_decode_bit_for_bit(engine):
    """The CPU runner steps each stream's codec alone (ModelRunner._step): whoever else decodes, a stream's
    samples are exactly `CodecDecoder.decode` of its codes, the offline path."""
    assert engine.runner.codec_per_stream == (engine.runner.device.type == "cpu")  # codec batching "auto"
    with pytest.raises(ValueError, match="codec batching 'per-slot' is not one of auto, per-stream, all-slots"):
        engine.runner.set_codec_batching("per-slot")
    if not engine.runner.codec_per_stream:
        pytest.skip("the batched codec (CUDA) rounds a stream by its company; the test above covers it")
    reqs = _requests()
    batched = _run(engine, {0: reqs[2:4], 3: [reqs[6]]})  # the three shortest, one joining later
    for i, (codes, pcm, _) in batched.items():
        offline = engine.runner.codec.decode(torch.from_numpy(codes).to(engine.runner.device)).cpu().numpy()
        np.testing.assert_array_equal(pcm, offline, err_msg=f"request {i}")


def test_cancel_frees_the_slot_before_the_next_step_and_spares_the_others(engine, alone):
    reqs = _requests()[:3]
    seqs = [engine.submit(r) for r in reqs]
    for _ in range(8):
        engine.step()
    before = engine.stats()
    assert engine.cancel(seqs[1].seq_id)
    after = engine.stats()
    assert after["free_slots"] == before["free_slots"] + 1 and after["running"] == before["running"] - 1
    assert not engine.cancel(seqs[1].seq_id)
    while engine.has_work:
        engine.step()
    # The survivors, run again in the same pattern with collection, equal their solo runs.
    result = _run(engine, {0: reqs}, cancel_at={1: 8})
    for i in (0, 2):
        np.testing.assert_array_equal(result[i][0], alone[i][0])
    cut = result[1][0]  # the frames emitted before the cancel, and none after
    assert 0 < len(cut) < 8
    np.testing.assert_array_equal(cut, alone[1][0][:len(cut)])


def test_a_paused_sequence_resumes_exactly(engine, alone):
    reqs = _requests()[:2]
    # Request 0 may take 10 frames, then waits 30 steps for credit while request 1 runs on.
    result = _run(engine, {0: reqs}, credits={0: 10}, refill_at={0: 40})
    np.testing.assert_array_equal(result[0][0], alone[0][0])
    np.testing.assert_array_equal(result[0][1], alone[0][1])
    np.testing.assert_array_equal(result[1][0], alone[1][0])


def test_paused_sequence_stops_producing(engine):
    seq = engine.submit(_requests()[1], credit=3)
    frames = sum(len(engine.step()) for _ in range(12))
    assert frames == 3 and engine.stats()["paused"] == 1
    engine.cancel(seq.seq_id)
    assert engine.stats()["paused"] == 0 and not engine.has_work


def test_prefill_work_per_step_is_bounded_while_streams_decode(engine, monkeypatch):
    running = engine.submit(_requests()[0])
    while running.frames == 0:
        engine.step()
    seq = engine.submit(SynthesisRequest(text=EN * 4, voice="ryan", language="english", max_audio_duration_ms=5 * 80))
    steps: list[list[int]] = []
    prefill = engine.runner.prefill
    monkeypatch.setattr(engine.runner, "prefill", lambda s, start, n: (steps[-1].append(n), prefill(s, start, n)))
    while seq.prefilled < seq.prompt_len:
        steps.append([])
        frames = running.frames
        engine.step()
        assert running.frames == frames + 1  # the running stream got its frame in every step
    # At most 32 tokens (the budget) per step, in chunks of at most 16.
    assert len(steps) > 1 and all(sum(c) <= 32 and all(n <= 16 for n in c) for c in steps)
    engine.cancel(seq.seq_id)
    engine.cancel(running.seq_id)


def test_with_nothing_decoding_a_prompt_goes_in_at_once(engine):
    seq = engine.submit(SynthesisRequest(text=EN * 4, voice="ryan", language="english", max_audio_duration_ms=5 * 80))
    plan = engine.scheduler.schedule()
    assert sum(c.length for c in plan.prefill) == seq.prompt_len > 32
    assert all(c.length <= 16 for c in plan.prefill)  # the same fixed chunk boundaries
    engine.cancel(seq.seq_id)


def test_text_too_long_for_the_context_is_rejected_before_admission(engine):
    with pytest.raises(RequestError) as e:
        engine.submit(SynthesisRequest(text=EN * 12, voice="ryan", language="english"))
    assert e.value.violations[0].field == "text" and "too long" in str(e.value)
    with pytest.raises(RequestError) as e:
        engine.submit(replace(_requests()[0], max_audio_duration_ms=10_000 * 80))
    assert e.value.violations[0].field == "max_audio_duration_ms"
    assert not engine.has_work


def test_default_frame_cap_stops_runaway_generation(engine):
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # never stop by EOS
    try:
        seq = engine.submit(SynthesisRequest(text="Hi.", voice="ryan", language="english", seed=1))
        frames = 0
        while engine.has_work:
            frames += len(engine.step())
    finally:
        engine.model.suppress_mask[engine.config.talker.codec_eos_id] = False
    assert frames == seq.max_frames < 60 and seq.finish_reason is FinishReason.MAX_FRAMES


def test_a_slot_left_holding_eos_does_not_disturb_the_codec(engine, alone):
    """A slot freed by EOS keeps code 0 = EOS (outside the codec's codebook) while the others decode on."""
    seq = engine.submit(_requests()[0])
    free = next(s for s in range(SLOTS) if s != seq.slot)
    engine.model.state.code0[free] = engine.config.talker.codec_eos_id
    codes = []
    while engine.has_work:
        codes += [ev.codes for ev in engine.step()]
    np.testing.assert_array_equal(np.stack(codes), alone[0][0])


def test_a_lone_stream_costs_two_rows_and_the_step_grows_with_the_highest_occupied_slot(engine, alone):
    """The lowest free slot is taken first and the step covers the smallest bucket holding every occupied
    slot; `alone` ran each request in slot 0 of this 8-slot engine, i.e. in 2-row steps, and the staggered
    batch test shows 8-row steps give the same bits."""
    assert [engine.runner.decode_rows(s) for s in range(SLOTS)] == [2, 2, 4, 4, 8, 8, 8, 8]
    seqs = [engine.submit(r) for r in _requests()[:3]]
    engine.step()
    assert [s.slot for s in seqs] == [0, 1, 2]
    engine.cancel(seqs[1].seq_id)
    late = engine.submit(_requests()[3])
    engine.step()
    assert late.slot == 1
    for s in list(engine.sequences):
        engine.cancel(s)
    assert not engine.has_work
