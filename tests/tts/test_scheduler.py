"""The scheduler without a model (nano-vllm style): plans are sequences and slots, results fold back as flags."""

from __future__ import annotations

from contract.outcome import FinishReason
from contract.request import Sampling, SynthesisRequest
from tts.checkpoint.config import GenerationDefaults
from tts.engine.scheduler import Scheduler
from tts.engine.sequence import Sequence, Status
from tts.model.sampling import resolve_sampling

SAMPLING = resolve_sampling(Sampling(), GenerationDefaults.parse({}))


def seq(i: int, prompt_len: int, max_frames: int = 100, credit: int | None = None, segments: int = 1,
        segment_max_frames: int = 100) -> Sequence:
    return Sequence(seq_id=i, request=SynthesisRequest(text="x"), texts=("x",) * segments, sampling=SAMPLING,
                    seed=i, max_frames=max_frames, prompt_len=prompt_len, segment_max_frames=segment_max_frames,
                    credit=credit)


def run_step(s: Scheduler, eos: set[int] = frozenset()):
    plan = s.schedule()
    return plan, s.postprocess(plan, [q.seq_id in eos for q in plan.decode])


def test_admission_takes_the_lowest_free_slots_first_come_first_served():
    s = Scheduler(slots=2, prefill_chunk=16, prefill_budget=32)
    a, b, c = seq(0, 10), seq(1, 10), seq(2, 10)
    for q in (a, b, c):
        s.add(q)
    plan = s.schedule()
    assert plan.admitted == [a, b] and (a.slot, b.slot) == (0, 1) and c.status is Status.WAITING
    assert s.finish(a, FinishReason.CANCELLED) and s.free_slots == [0]
    assert s.schedule().admitted == [c] and c.slot == 0


def test_prefill_comes_in_fixed_chunks_within_the_budget_and_idle_budget():
    s = Scheduler(slots=2, prefill_chunk=16, prefill_budget=32, idle_prefill_budget=128)
    long = seq(0, 100)
    s.add(long)
    plan, _ = run_step(s)  # nothing decodes: the idle budget (128) takes the whole prompt
    assert [(c.start, c.length) for c in plan.prefill] == [(0, 16), (16, 16), (32, 16), (48, 16), (64, 16),
                                                           (80, 16), (96, 4)]
    assert long.status is Status.DECODING and long.prefilled == 100
    other = seq(1, 70)
    s.add(other)
    plan, emitted = run_step(s)  # `long` decodes: 32 tokens of prefill at most, in whole 16-token chunks
    assert [(c.start, c.length) for c in plan.prefill] == [(0, 16), (16, 16)] and plan.decode == [long]
    assert [e.index for e in emitted] == [0] and other in plan.hold
    plan, _ = run_step(s)
    assert [(c.start, c.length) for c in plan.prefill] == [(32, 16), (48, 16)]
    plan, _ = run_step(s)
    assert [(c.start, c.length) for c in plan.prefill] == [(64, 6)] and other.status is Status.DECODING


def test_a_first_chunk_larger_than_the_budget_still_goes_in():
    s = Scheduler(slots=1, prefill_chunk=64, prefill_budget=16)
    q = seq(0, 50)
    s.add(q)
    plan, _ = run_step(s)
    assert [(c.start, c.length) for c in plan.prefill] == [(0, 50)]


def test_credit_pauses_a_sequence_in_its_slot_and_more_credit_resumes_it():
    s = Scheduler(slots=2, prefill_chunk=16, prefill_budget=32)
    q = seq(0, 8, credit=2)
    s.add(q)
    run_step(s)  # prefill
    for expected in (0, 1):
        plan, emitted = run_step(s)
        assert plan.decode == [q] and emitted[0].index == expected
    plan, emitted = run_step(s)
    assert plan.decode == [] and plan.hold == [q] and q.slot == 0 and q.status is Status.DECODING
    s.add_credit(q, 1)
    plan, emitted = run_step(s)
    assert plan.decode == [q] and emitted[0].index == 2 and q.frames == 3


def test_end_of_speech_and_the_frame_bound_finish_and_free_the_slot():
    s = Scheduler(slots=2, prefill_chunk=16, prefill_budget=32)
    a, b = seq(0, 4, max_frames=2), seq(1, 4)
    s.add(a)
    s.add(b)
    run_step(s)
    _, emitted = run_step(s, eos={1})
    assert [(e.seq.seq_id, e.reason) for e in emitted] == [(0, None), (1, FinishReason.EOS)]
    assert b.finished and s.free_slots == [1]
    _, emitted = run_step(s)
    assert [(e.seq.seq_id, e.reason) for e in emitted] == [(0, FinishReason.MAX_FRAMES)]
    assert a.finished and a.frames == 2 and sorted(s.free_slots) == [0, 1] and not s.has_work


def test_cancel_retires_waiting_and_running_sequences_once():
    s = Scheduler(slots=1, prefill_chunk=16, prefill_budget=32)
    running, waiting = seq(0, 4), seq(1, 4)
    s.add(running)
    s.add(waiting)
    run_step(s)
    assert s.finish(waiting, FinishReason.CANCELLED) and waiting not in s.waiting
    assert s.finish(running, FinishReason.CANCELLED) and s.free_slots == [0]
    assert not s.finish(running, FinishReason.CANCELLED)
    assert running.finish_reason is FinishReason.CANCELLED and not s.has_work


def test_a_segment_end_starts_the_next_segment_in_the_same_slot():
    s = Scheduler(slots=2, prefill_chunk=16, prefill_budget=32)
    q = seq(0, 4, segments=3, segment_max_frames=2)
    s.add(q)
    run_step(s)
    plan, emitted = run_step(s, eos={0})  # end of speech in segment 0: not the sequence's end
    assert emitted[0].segment == 0 and emitted[0].segment_ended and not emitted[0].runaway
    assert emitted[0].reason is None and q.segment == 1 and q.status is Status.PREFILLING and q.slot == 0
    s.segment_prompt(q, 6, 2)
    plan, _ = run_step(s)
    assert plan.admitted == [q] and [(c.start, c.length) for c in plan.prefill] == [(0, 6)]
    _, emitted = run_step(s)
    assert emitted[0].segment == 1 and emitted[0].index == 1 and not emitted[0].segment_ended
    _, emitted = run_step(s)  # the segment's runaway guard (2 frames): on to the last segment
    assert emitted[0].segment_ended and emitted[0].runaway and q.segment == 2
    s.segment_prompt(q, 3, 2)
    run_step(s)
    _, emitted = run_step(s, eos={0})  # end of speech in the last segment: the sequence ends
    assert emitted[0].reason is FinishReason.EOS and q.finished and q.frames == 4 and s.free_slots == [0, 1]
