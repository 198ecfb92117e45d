"""Checkpoints written by the official classes: a config.json without `assistant_token_id` (the official
config class does not declare it, and the official prompt tokenizes the chat template instead) loads and gives
the same codes."""

from __future__ import annotations

import json
import shutil

import numpy as np

from contract.request import GREEDY, SynthesisRequest
from tts.engine.loader import load_engine


def test_a_config_without_assistant_token_id_loads_and_gives_identical_codes(tiny_ckpt, tmp_path):
    stripped = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, stripped)
    cfg = json.loads((stripped / "config.json").read_text())
    assert "assistant_token_id" in cfg  # the released layout has it ...
    del cfg["assistant_token_id"]  # ... a config saved by the official classes does not
    (stripped / "config.json").write_text(json.dumps(cfg))
    req = SynthesisRequest(text="Hello there.", voice="ryan", language="english", sampling=GREEDY,
                           max_audio_duration_ms=8 * 80)
    a = load_engine(str(tiny_ckpt), slots=1, max_context=128).synthesize(req)
    b = load_engine(str(stripped), slots=1, max_context=128).synthesize(req)
    assert a.codes.shape == (8, 16)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.pcm, b.pcm)
