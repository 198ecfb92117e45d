"""Open sequences (streaming text input): segments arrive while the sequence speaks; with nothing left to say it
parks (no slot, no decode step) and resumes, in any free slot, when more text comes; the audio is the same
seamless stream as the whole text spoken at once, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from contract.request import SynthesisRequest
from contract.rules import resolve
from server.text.plan import plan
from tts.engine.loader import load_engine
from tts.engine.sequence import Status

TEXT = "A short one.\n\nThen a second.\n\nAnd a third."  # short: random weights run each to its guard


@pytest.fixture(scope="module")
def engine(tiny_ckpt):
    return load_engine(str(tiny_ckpt), slots=2, max_context=1024)


def _whole(engine) -> SynthesisRequest:
    return plan(resolve(SynthesisRequest(text=TEXT, voice="ryan", language="english", seed=5), engine.capabilities))


def _collect(frames, into: dict) -> None:
    for f in frames:
        into.setdefault(f.seq_id, []).append(f)


def test_appended_segments_with_parking_equal_the_whole_text_bit_for_bit(engine):
    whole = _whole(engine)
    texts = [s.text for s in whole.segments]
    assert len(texts) == 3
    reference = {}
    seq = engine.submit(whole)
    _collect(engine.run([seq]), reference)
    ref = reference[seq.seq_id]

    session = engine.submit(replace(whole, segments=()), open=True)
    assert session.status is Status.PARKED and not engine.has_work  # no text yet: no slot, no step
    got: dict = {}
    engine.append(session.seq_id, texts[:1])
    while session.status is not Status.PARKED:
        _collect(engine.step(), got)
    assert got[session.seq_id][-1].parked and session.slot is not None
    # Someone else takes slot 0 meanwhile: the session resumes in slot 1, its codec state moved along.
    other = engine.submit(resolve(SynthesisRequest(text="Another voice speaks now.", voice="vivian", seed=1,
                                                   max_audio_duration_ms=4000), engine.capabilities))
    _collect(engine.step(), got)
    engine.append(session.seq_id, texts[1:], end=True)
    while not session.finished:
        _collect(engine.step(), got)
    assert session.slot == 1 and other.slot == 0
    mine = got[session.seq_id]
    assert [f.segment for f in mine] == [f.segment for f in ref]
    np.testing.assert_array_equal(np.stack([f.codes for f in mine]), np.stack([f.codes for f in ref]))
    np.testing.assert_array_equal(np.concatenate([f.pcm for f in mine]), np.concatenate([f.pcm for f in ref]))
    assert mine[-1].ended is not None and mine[-1].ended.frames == len(ref)
    engine.cancel(other.seq_id)


def test_interrupt_drops_the_unspoken_text_and_the_session_speaks_again(engine):
    whole = _whole(engine)
    texts = [s.text for s in whole.segments]
    session = engine.submit(replace(whole, segments=()), open=True)
    engine.append(session.seq_id, texts)
    frames = []
    while len(frames) < 3:
        frames += engine.step()
    assert engine.interrupt(session.seq_id) and session.status is Status.PARKED
    # the rest was dropped: skipped, its indices kept (the next text is segment 3, as the session numbers it)
    assert session.segment == 3 and session.texts == texts
    assert not engine.has_work and not engine.step()  # parked: no decode step at all
    engine.append(session.seq_id, ["A new turn."], end=True)
    later = []
    while not session.finished:
        later += engine.step()
    assert {f.segment for f in later} == {3} and later[-1].ended is not None
