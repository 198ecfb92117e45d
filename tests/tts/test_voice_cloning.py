"""Voice cloning end to end against the official package on random Base checkpoints: greedy codes for x-vector
mode and both ICL alignment branches, PCM with the reference part removed, the voice store round trip, and the
errors a user can cause."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import soundfile as sf
import torch

from contract.outcome import FailureKind
from contract.request import GREEDY, SynthesisRequest
from tests.reference_signals import voice_like
from tts.engine.engine import Engine, RequestError
from tts.engine.loader import load_engine
from tts.voices.reference_audio import ReferenceAudioError
from tts.voices.store import VoiceError
from workers.__main__ import main

FRAMES = 40
LONG_TEXT = ("Hello world, this is a rather long sentence for the voice cloning test, and it keeps going for a "
             "while so that the text is longer than the reference audio.")


@pytest.fixture(scope="module")
def engine(make_ckpt, tmp_path_factory) -> Engine:
    store = tmp_path_factory.mktemp("voices")
    return load_engine(str(make_ckpt("tiny-base")), slots=2, max_context=640, voice_store=str(store))


def _oracle_codes(oracle, wav, ref_text, text, x_vector_only):
    items = oracle.create_voice_clone_prompt(ref_audio=(wav, 24000), ref_text=ref_text,
                                             x_vector_only_mode=x_vector_only)
    prompt = oracle._prompt_items_to_voice_clone_prompt(items)
    ref_ids = [oracle._tokenize_texts([oracle._build_ref_text(ref_text)])[0]] if ref_text else [None]
    kwargs = oracle._merge_generate_kwargs(do_sample=False, subtalker_dosample=False, max_new_tokens=FRAMES + 1)
    (codes,), _ = oracle.model.generate(input_ids=oracle._tokenize_texts([oracle._build_assistant_text(text)]),
                                        ref_ids=ref_ids, voice_clone_prompt=prompt, languages=["auto"],
                                        non_streaming_mode=False, **kwargs)
    return items[0], codes


@pytest.mark.parametrize("name, seconds, ref_text, text, x_vector_only, branch", [
    # ICL, text longer than the reference frames (T1 > T2): the rest of the text rides along in decode steps.
    ("icl-long-text", 1.2, "Short reference.", LONG_TEXT, False, "text_longer"),
    # ICL, reference longer than the text (T1 <= T2): the text is padded with tts_pad under the reference.
    ("icl-long-ref", 4.0, "This is my voice, recorded for the test.", "Hi there.", False, "ref_longer"),
    ("xvec", 3.0, None, "Hello world, this is a test.", True, None),
])
def test_clone_codes_and_pcm_equal_oracle(engine, oracle_for, name, seconds, ref_text, text, x_vector_only, branch):
    oracle = oracle_for("tiny-base")
    wav = voice_like(zlib.crc32(name.encode()) % 1000, 24000, seconds)  # hash() differs per process
    voice = engine.voices.register(name, (wav, 24000), ref_text=ref_text, x_vector_only=x_vector_only)
    item, expected = _oracle_codes(oracle, wav, ref_text, text, x_vector_only)
    assert (voice.x_vector - item.ref_spk_embedding.float()).abs().max() <= 1e-4
    if not x_vector_only:
        assert torch.equal(voice.ref_codes, item.ref_code)
        text_len = len(voice.ref_ids) - 5 + len(engine.tokenizer.target_ids(text)) - 8 + 1  # ref + text + eos
        assert (text_len > len(voice.ref_codes) + 1) == (branch == "text_longer")
    got = engine.synthesize(SynthesisRequest(text=text, voice=name, sampling=GREEDY, max_audio_duration_ms=FRAMES * 80))
    assert expected.shape == (FRAMES, 16)
    np.testing.assert_array_equal(got.codes, expected.numpy())
    # The official output decodes [reference codes + generated codes] and cuts the reference part; ours starts
    # from the codec state primed with the reference codes. Compared from the exact frame boundary.
    full = torch.cat([item.ref_code, expected]) if not x_vector_only else expected
    (wav_out,), _ = oracle.model.speech_tokenizer.decode([{"audio_codes": full}])
    ref_samples = 0 if x_vector_only else item.ref_code.shape[0] * 1920
    assert np.abs(got.pcm - wav_out[ref_samples:]).max() <= 1e-4


def test_voice_reloaded_from_the_store_gives_identical_codes(engine, make_ckpt):
    wav = voice_like(7, 24000, 2.0)
    engine.voices.register("stored", (wav, 24000), ref_text="My stored voice.")
    req = SynthesisRequest(text="Hello again.", voice="stored", seed=5, max_audio_duration_ms=25 * 80)
    fresh = engine.synthesize(req)
    # A new engine (a restart) reads the voice from disk.
    restarted = load_engine(str(make_ckpt("tiny-base")), slots=2, max_context=640,
                            voice_store=str(engine.voices.store.root))
    assert "stored" in restarted.voices.names()
    again = restarted.synthesize(req)
    np.testing.assert_array_equal(fresh.codes, again.codes)
    np.testing.assert_array_equal(fresh.pcm, again.pcm)
    restarted.voices.delete("stored")
    with pytest.raises(RequestError) as e:
        engine.synthesize(req)  # the other engine's cache sees the deletion on disk
    assert e.value.violations[0].field == "voice"
    # Re-registered under the same name from other audio: the first engine must not serve its cached copy.
    restarted.voices.register("stored", (voice_like(8, 24000, 2.5), 24000), ref_text="Another voice.")
    replaced = restarted.synthesize(req)
    np.testing.assert_array_equal(engine.synthesize(req).codes, replaced.codes)
    assert not np.array_equal(replaced.codes, fresh.codes)


@pytest.mark.parametrize("kwargs, field, message", [
    ({"name": "../evil"}, "name", "not valid"),
    ({"name": "x" * 65}, "name", "not valid"),
    ({"ref_text": None}, "reference_text", "transcript"),
    ({"ref_text": "Hi <|im_start|> there"}, "reference_text", "control token"),
    ({"audio": b""}, "reference_audio", "empty"),
    ({"audio": b"not audio at all" * 100}, "reference_audio", "not a supported audio file"),
    ({"audio": (np.zeros(48000, np.float32), 24000)}, "reference_audio", "silent"),
    ({"audio": (voice_like(1, 24000, 31.0), 24000)}, "reference_audio", "30"),
    ({"audio": (voice_like(1, 24000, 0.5), 24000)}, "reference_audio", "1"),
])
def test_bad_registrations_name_the_field(engine, kwargs, field, message):
    args = {"name": "ok", "audio": (voice_like(2, 24000, 2.0), 24000), "ref_text": "Fine.", **kwargs}
    with pytest.raises((VoiceError, ReferenceAudioError)) as e:
        engine.voices.register(args.pop("name"), args.pop("audio"), **args)
    assert e.value.field == field and message in str(e.value), str(e.value)
    assert "ok" not in engine.voices.names()


def test_duplicate_names_and_unknown_voices(engine):
    engine.voices.register("dup", (voice_like(3, 24000, 2.0), 24000), x_vector_only=True)
    with pytest.raises(VoiceError) as e:
        engine.voices.register("dup", (voice_like(3, 24000, 2.0), 24000), x_vector_only=True)
    assert e.value.kind is FailureKind.EXISTS
    with pytest.raises(RequestError) as e:
        engine.submit(SynthesisRequest(text="Hi", voice="nobody"))
    assert e.value.violations[0].field == "voice" and "no voice named" in str(e.value)
    with pytest.raises(RequestError) as e:
        engine.submit(SynthesisRequest(text="Hi"))
    assert e.value.violations[0].field == "voice"


def test_low_rate_stereo_reference_is_mixed_and_resampled(engine, tmp_path):
    path = tmp_path / "phone.wav"
    sf.write(path, voice_like(4, 8000, 3.0, channels=2), 8000)
    voice = engine.voices.register("phone", str(path), x_vector_only=True)
    assert voice.meta["source_sample_rate"] == 8000 and voice.meta["source_channels"] == 2
    assert voice.meta["reference_seconds"] == pytest.approx(3.0, abs=0.01)


def test_cli_register_then_synth_equals_synth_with_the_reference(make_ckpt, tmp_path, capsys):
    ckpt, ref = str(make_ckpt("tiny-base")), tmp_path / "ref.flac"
    sf.write(ref, voice_like(5, 44100, 2.5, channels=2), 44100)
    store = str(tmp_path / "store")
    assert main(["register-voice", "--model", ckpt, "--name", "alice", "--ref-audio", str(ref), "--ref-text",
                 "This is my voice.", "--store", store]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "icl"
    common = ["--model", ckpt, "--text", "Hello there.", "--greedy", "--max-frames", "15"]
    assert main(["synth", *common, "--voice", "alice", "--store", store, "--out", str(tmp_path / "a.wav"),
                 "--codes-out", str(tmp_path / "a.npy")]) == 0
    assert main(["synth", *common, "--ref-audio", str(ref), "--ref-text", "This is my voice.",
                 "--out", str(tmp_path / "b.wav"), "--codes-out", str(tmp_path / "b.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    capsys.readouterr()
    assert main(["register-voice", "--model", ckpt, "--name", "alice", "--ref-audio", str(ref), "--x-vector-only",
                 "--store", store]) == 2
    assert "error: name: a voice named 'alice' already exists" in capsys.readouterr().err


def test_clones_of_both_modes_batched_together_equal_their_solo_runs(engine):
    """An ICL voice (primed codec state) and an x-vector voice share decode steps without a trace of each other."""
    engine.voices.register("mix-icl", (voice_like(11, 24000, 2.0), 24000), ref_text="Mixing voices.")
    engine.voices.register("mix-xvec", (voice_like(12, 24000, 2.0), 24000), x_vector_only=True)
    reqs = [SynthesisRequest(text="Together we speak.", voice="mix-icl", seed=3, max_audio_duration_ms=30 * 80),
            SynthesisRequest(text="Side by side.", voice="mix-xvec", seed=4, max_audio_duration_ms=25 * 80)]
    alone = [engine.synthesize(r) for r in reqs]
    seqs = {engine.submit(r).seq_id: i for i, r in enumerate(reqs)}
    frames = {0: [], 1: []}
    while engine.has_work:
        for ev in engine.step():
            frames[seqs[ev.seq_id]].append(ev)
    for i, ref in enumerate(alone):
        np.testing.assert_array_equal(np.stack([e.codes for e in frames[i]]), ref.codes)
        np.testing.assert_array_equal(np.concatenate([e.pcm for e in frames[i]]), ref.pcm)
