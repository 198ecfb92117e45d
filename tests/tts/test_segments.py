"""Long texts in segments: each segment its own talker generation in the same slot, one seamless codec stream.

- the streamed audio of a multi-segment request equals one whole-utterance decode of all its codes, bit for bit
  (no seam: the codec state carries over);
- a segmented request gives the same audio alone and beside another one;
- a 20,000-character text streams to its end, the slot's cache positions never exceed its largest segment's,
  and its first frame comes after the same prefill work as a one-sentence request's;
- a segment that reaches its runaway guard ends there and the stream goes on with the next.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from contract.capabilities import Capabilities
from contract.request import SynthesisRequest
from contract.rules import resolve
from server.text.plan import plan
from tts.engine.loader import load_engine

# Five paragraphs: a blank line always ends a segment (sentences would otherwise be grouped up to ~250 characters).
# Short ones: random weights seldom say EOS, so each segment runs to its runaway guard (grows with its text).
SENTENCES = "A first one.\n\nThen a second.\n\nA third.\n\nThe fourth.\n\nAnd a fifth."


def _planned(caps: Capabilities, text: str, **kw) -> SynthesisRequest:
    return plan(resolve(SynthesisRequest(text=text, voice="ryan", language="english", seed=11, **kw), caps))


def _run(engine, *reqs: SynthesisRequest) -> list[tuple[np.ndarray, np.ndarray, list[int]]]:
    seqs = [engine.submit(r) for r in reqs]
    out = {s.seq_id: ([], [], []) for s in seqs}
    for frame in engine.run(seqs):
        codes, pcm, segments = out[frame.seq_id]
        codes.append(frame.codes)
        pcm.append(frame.pcm)
        segments.append(frame.segment)
    return [(np.stack(c), np.concatenate(p), g) for c, p, g in (out[s.seq_id] for s in seqs)]


def test_five_segments_stream_as_one_seamless_decode(tiny_ckpt):
    solo = load_engine(str(tiny_ckpt), slots=1, max_context=1024)  # the codec steps one row, as decode() does
    req = _planned(solo.capabilities, SENTENCES, max_audio_duration_ms=0)
    assert len(req.segments) == 5
    ((codes, pcm, segments),) = _run(solo, req)
    assert sorted(set(segments)) == [0, 1, 2, 3, 4] and segments == sorted(segments)
    whole = solo.runner.codec.decode(torch.from_numpy(codes)).numpy()
    np.testing.assert_array_equal(pcm, whole)  # bit for bit: no seam, no crossfade, nothing decoded twice


def test_a_segmented_request_is_the_same_alone_and_in_a_batch(tiny_ckpt):
    engine = load_engine(str(tiny_ckpt), slots=2, max_context=1024)
    # 8 s of audio: past the first segment boundaries (each segment runs ~40 frames to its guard), not all five
    req = _planned(engine.capabilities, SENTENCES, max_audio_duration_ms=8000)
    other = _planned(engine.capabilities, "Somebody else speaks meanwhile.")
    ((alone_codes, alone_pcm, alone_segments),) = _run(engine, req)
    (codes, pcm, _), _ = _run(engine, req, other)
    assert len(set(alone_segments)) >= 2
    np.testing.assert_array_equal(codes, alone_codes)
    np.testing.assert_array_equal(pcm, alone_pcm)


def test_a_long_text_streams_to_its_end_in_bounded_context(tiny_ckpt):
    engine = load_engine(str(tiny_ckpt), slots=1, max_context=1024)
    sentence = "Here is one more sentence of a long document, read aloud in segments. "
    text = (sentence * (20_000 // len(sentence) + 1))[:20_000]
    req = _planned(engine.capabilities, text, max_audio_duration_ms=0)
    assert len(req.segments) > 60 and max(len(s.text) for s in req.segments) <= 250
    first_prompt = {}
    # Random weights seldom say EOS: allow nothing but EOS, so every segment ends after the 2 frames the official
    # model always makes (80 segments in seconds, not hours); the codes are then 0 (all other ids banned).
    saved = engine.model.suppress_mask.clone()
    engine.model.suppress_mask[:] = True
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = False
    try:
        seq = engine.submit(req)
        first_prompt["long"] = seq.prompt_len
        seen_segments, highest = set(), 0
        while not seq.finished:
            for frame in engine.step():
                seen_segments.add(frame.segment)
            highest = max(highest, int(engine.model.state.position[0]))
    finally:
        engine.model.suppress_mask.copy_(saved)
    assert seen_segments == set(range(len(req.segments)))  # every segment spoken, in one stream
    assert highest < engine.max_context  # the cache holds one segment at a time, never the document
    short = engine.submit(_planned(engine.capabilities, "Here is one more sentence of a long document."))
    first_prompt["short"] = short.prompt_len
    engine.cancel(short.seq_id)
    # Time to first audio is the first segment's prefill: the same work for 20,000 characters as for one line.
    assert first_prompt["long"] <= first_prompt["short"] + 8


def test_a_runaway_segment_ends_at_its_guard_and_the_next_one_follows(tiny_ckpt, caplog):
    engine = load_engine(str(tiny_ckpt), slots=1, max_context=1024)
    req = _planned(engine.capabilities, "One. Two, three, four, five words at least. Six.", max_audio_duration_ms=0)
    assert len(req.segments) >= 2
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # never stop by EOS
    try:
        with caplog.at_level(logging.WARNING, logger="tts.engine.engine"):
            ((codes, _, segments),) = _run(engine, req)
    finally:
        engine.model.suppress_mask[engine.config.talker.codec_eos_id] = False
    per_segment = [segments.count(i) for i in range(len(req.segments))]
    assert all(n > 2 for n in per_segment) and len(codes) == sum(per_segment)
    assert sum("runaway guard" in r.message for r in caplog.records) == len(req.segments) - 1
