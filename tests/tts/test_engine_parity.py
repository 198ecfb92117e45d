"""Our engine against the official package on the same random checkpoints: identical prompt embeddings,
identical greedy codes (>= 40 frames), PCM from the same codes within 1e-4, and reproducible seeded sampling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from contract.request import GREEDY, SynthesisRequest
from tests.conftest import TEST_DEVICE
from tts.engine.engine import Engine
from tts.engine.loader import load_engine
from tts.prompt.builder import build_prompt

FRAMES = 40
TEXT = "Hello world, this is a test of the system."
TEXT_ZH = "今天天气很好，我们去公园散步吧。"


@dataclass(frozen=True)
class Case:
    preset: str
    text: str
    language: str
    speaker: str | None = None
    instruct: str | None = None
    non_streaming: bool = True

    def request(self, max_frames: int = 0, **kw) -> SynthesisRequest:
        return SynthesisRequest(text=self.text, language=self.language, voice=self.speaker or "",
                                instructions=self.instruct or "", non_streaming=self.non_streaming,
                                max_audio_duration_ms=max_frames * 80, **kw)


CASES = [
    Case("tiny", TEXT, "english", "ryan"),
    Case("tiny", TEXT_ZH, "chinese", "vivian"),
    Case("tiny", TEXT_ZH, "auto", "eric"),  # dialect speaker: auto -> sichuan_dialect
    Case("tiny", TEXT_ZH, "chinese", "dylan"),  # dialect speaker: chinese -> beijing_dialect
    Case("tiny", TEXT, "auto", "aiden"),  # auto, no dialect: the 3-token nothink prefix
    Case("tiny", TEXT, "english", "ryan", non_streaming=False),  # streaming-text layout
    Case("tiny-1.7b", TEXT, "english", "serena", instruct="Speak slowly and warmly."),
    Case("tiny-1.7b", TEXT_ZH, "chinese", "uncle_fu"),
    Case("tiny-voice-design", TEXT, "english", instruct="A deep, calm male voice with a slight rasp."),
    Case("tiny-voice-design", TEXT_ZH, "auto", instruct="年轻女性，语速很快。", non_streaming=False),
]


@pytest.fixture(scope="module")
def oracles(oracle_for):
    return oracle_for


@pytest.fixture(scope="module")
def engines(make_ckpt):
    cache = {}

    def get(preset: str) -> Engine:
        if preset not in cache:
            cache[preset] = load_engine(str(make_ckpt(preset)), slots=1, max_context=256, device=TEST_DEVICE,
                                        dtype="float32")
        return cache[preset]

    return get


def _oracle_inputs(oracle, case: Case):
    """What the official wrapper passes to model.generate for this case (ids, per-mode lists)."""
    ids = oracle._tokenize_texts([oracle._build_assistant_text(case.text)])
    instruct = None
    if case.instruct and oracle.model.tts_model_size not in "0b6":
        instruct = oracle._tokenize_texts([oracle._build_instruct_text(case.instruct)])[0]
    return dict(input_ids=ids, instruct_ids=[instruct], languages=[case.language],
                speakers=[case.speaker] if case.speaker else None, non_streaming_mode=case.non_streaming)


def _oracle_prompt(oracle, case: Case):
    """Capture the prompt the official code hands to the talker (inputs_embeds, trailing text, tts_pad)."""
    captured = {}

    def capture(**kwargs):
        captured.update(kwargs)
        raise StopIteration

    talker = oracle.model.talker
    original = talker.generate
    talker.generate = capture
    try:
        with pytest.raises(StopIteration):
            oracle.model.generate(**_oracle_inputs(oracle, case), **oracle._merge_generate_kwargs())
    finally:
        talker.generate = original
    return captured


def _oracle_greedy_codes(oracle, case: Case) -> np.ndarray:
    kwargs = oracle._merge_generate_kwargs(do_sample=False, subtalker_dosample=False, max_new_tokens=FRAMES + 1)
    codes, _ = oracle.model.generate(**_oracle_inputs(oracle, case), **kwargs)
    return codes[0].cpu().numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.preset}-{c.speaker or 'design'}-{c.language}"
                         f"{'-instruct' if c.instruct else ''}{'' if c.non_streaming else '-streaming'}")
def test_prompt_and_greedy_codes_equal_oracle(case, oracles, engines):
    oracle, engine = oracles(case.preset), engines(case.preset)
    ref = _oracle_prompt(oracle, case)
    prompt = build_prompt(engine.model, engine.tokenizer, case.request())
    assert torch.equal(prompt.embeds, ref["inputs_embeds"][0]), "prompt embeddings differ"
    assert torch.equal(prompt.trailing, ref["trailing_text_hidden"][0]), "trailing text track differs"
    assert torch.equal(engine.model.tts_pad, ref["tts_pad_embed"].view(-1))

    expected = _oracle_greedy_codes(oracle, case)
    got = engine.synthesize(case.request(sampling=GREEDY, max_frames=FRAMES)).codes
    assert expected.shape == (FRAMES, 16), "the oracle stopped early: the case would compare fewer frames"
    assert got.shape == expected.shape
    mismatch = np.flatnonzero((got != expected).any(axis=1))
    assert mismatch.size == 0, f"first differing frame {mismatch[:1]}: ours {got[mismatch[0]]} vs {expected[mismatch[0]]}"


def test_pcm_from_the_same_codes_matches_oracle_decoder(oracles, engines):
    oracle, engine = oracles("tiny"), engines("tiny")
    codes = torch.randint(0, 2048, (120, 16), generator=torch.Generator().manual_seed(5))
    (ref,), sr = oracle.model.speech_tokenizer.decode([{"audio_codes": codes}])
    ours = engine.runner.codec.decode(codes).float().cpu().numpy()
    assert sr == 24000 and ours.shape == ref.shape == (120 * 1920,)
    assert np.sqrt(np.mean(ref ** 2)) > 0.01, "random codec is near-silent: the comparison would prove nothing"
    assert np.abs(ours - ref).max() <= 1e-4


def test_seed_reproduces_and_different_seeds_differ(engines):
    engine = engines("tiny")
    case = CASES[0]
    a = engine.synthesize(case.request(seed=1234, max_frames=30))
    b = engine.synthesize(case.request(seed=1234, max_frames=30))
    c = engine.synthesize(case.request(seed=4321, max_frames=30))
    assert a.seed == 1234
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.pcm, b.pcm)
    assert not np.array_equal(a.codes, c.codes)


def test_unseeded_requests_report_the_seed_they_used(engines):
    engine = engines("tiny")
    case = CASES[0]
    first = engine.synthesize(case.request(max_frames=12))
    again = engine.synthesize(case.request(seed=first.seed, max_frames=12))
    np.testing.assert_array_equal(first.codes, again.codes)
