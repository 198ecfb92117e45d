"""The response pipeline's speed (server/responses.py + server/audio/tempo.py): 1.0 sends every bit as before,
other speeds stretch the model's audio (pitch kept) before it is encoded; the duration bound counts model audio
and usage reports the audio sent; the rulebook holds speed to 0.25..4.0."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from contract.capabilities import Capabilities
from contract.formats import AudioFormat, Encoding
from contract.outcome import FinishReason
from contract.request import SynthesisRequest
from contract.rules import InvalidRequest, resolve
from server.responses import Audio, Ending, Finished, ResponsePipeline

CAPS = Capabilities(model="m", model_type="custom_voice", model_size="0b6", speakers=("vivian",),
                    languages=("auto", "english"), accepts_instructions=False, sample_rate=24000,
                    samples_per_frame=1920)
FRAMES = [np.sin(np.arange(1920) * 0.05 + k).astype(np.float32) * 0.3 for k in range(20)]  # 1.6 s


def run(speed: float, max_ms: int = 0) -> tuple[bytes, Finished, ResponsePipeline]:
    req = resolve(SynthesisRequest("hi", audio_format=AudioFormat(Encoding.PCM_S16LE, 0), speed=speed,
                                   max_audio_duration_ms=max_ms), CAPS)
    pipeline = ResponsePipeline(req, CAPS, received_at=0.0, clock=lambda: 1.0)
    events = []
    for frame in FRAMES:
        events += pipeline.frame(frame)
        if pipeline.cut:
            break
    events += pipeline.finished(FinishReason.EOS, 0.0)
    audio = b"".join(e.chunk.audio for e in events if isinstance(e, Audio))
    return audio, events[-1], pipeline


def test_speed_one_is_a_passthrough_and_other_speeds_change_the_duration_sent():
    plain, done, _ = run(1.0)
    assert len(plain) == 2 * 20 * 1920 and done.usage.audio_s == pytest.approx(1.6)
    for speed in (0.5, 2.0, 4.0):
        audio, done, _ = run(speed)
        sent = len(audio) // 2
        assert abs(sent - 20 * 1920 / speed) <= 2 * 1024, speed  # atempo: within two windows
        assert done.usage.audio_s == pytest.approx(sent / 24000)  # usage: the audio sent
        assert done.usage.generated_frames == 20  # the work: model frames


def test_the_duration_bound_counts_model_audio():
    audio, done, pipeline = run(2.0, max_ms=800)
    assert pipeline.cut and pipeline.samples == 800 * 24  # cut on the model's audio ...
    assert done.ending is Ending.MAX_DURATION
    assert abs(len(audio) // 2 - 400 * 24) <= 2 * 1024  # ... of which about half as much is sent


def test_the_rulebook_holds_speed_to_its_range():
    req = SynthesisRequest("hi")
    for ok in (0.25, 1.0, 4.0):
        assert resolve(replace(req, speed=ok), CAPS).speed == ok
    for bad in (0.2, 4.01, float("nan"), float("inf"), 0.0):
        with pytest.raises(InvalidRequest) as e:
            resolve(replace(req, speed=bad), CAPS)
        assert [v.field for v in e.value.violations] == ["speed"]
