"""Voice-cloning components against the official oracle, on the same random-weight Base checkpoints.

Reference audio loading and resampling, the mel front end, the x-vector and the reference codes must equal what
the official `create_voice_clone_prompt` computes from the same file or samples. librosa is used here only as the
oracle's own dependency (the product never imports it).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file

from tests.oracle import import_qwen_tts
from tests.reference_signals import voice_like
from tts.checkpoint.config import ModelConfig
from tts.checkpoint.loading import CheckpointError
from tts.voices.clone import VoiceEncoders, extract_voice
from tts.voices.codec_encoder import CodecEncoder
from tts.voices.mel import LogMel, mel_filterbank
from tts.voices.reference_audio import (
    ReferenceAudioError,
    ReferenceLimits,
    decode_audio,
    load_reference,
    reference_from_samples,
    resample_to_24k,
)
from tts.voices.speaker_encoder import SpeakerEncoder

librosa = pytest.importorskip("librosa", reason="librosa is the oracle's resampler and filterbank")

REF_TEXT = "This is the reference transcript."


@pytest.fixture(scope="module")
def encoders(make_ckpt: Callable[..., Path]) -> Callable[[str], VoiceEncoders]:
    cache: dict[str, VoiceEncoders] = {}

    def get(preset: str) -> VoiceEncoders:
        if preset not in cache:
            path = make_ckpt(preset)
            cache[preset] = VoiceEncoders.from_checkpoint(path, ModelConfig.load(path))
        return cache[preset]

    return get


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same kinds of reference a user sends: 44.1 kHz stereo WAV, 16 kHz mono FLAC, 24 kHz mono WAV."""
    root = tmp_path_factory.mktemp("refs")
    files = {
        "wav44k-stereo": (voice_like(1, 44100, 2.3, channels=2, f0=140.0), 44100, "PCM_16", "WAV"),
        "flac16k-mono": (voice_like(2, 16000, 1.7, f0=210.0), 16000, "PCM_24", "FLAC"),
        "wav24k-mono": (voice_like(3, 24000, 2.0, f0=110.0), 24000, "FLOAT", "WAV"),
    }
    out = {}
    for name, (wav, sr, subtype, fmt) in files.items():
        out[name] = root / f"{name}.{fmt.lower()}"
        sf.write(out[name], wav, sr, subtype=subtype, format=fmt)
    return out


def _encode(wav: np.ndarray, sr: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


# --- front end: filterbank, mel, resampling, decoding ---------------------------------------------------


def test_mel_filterbank_equals_librosa() -> None:
    ours = mel_filterbank()
    theirs = librosa.filters.mel(sr=24000, n_fft=1024, n_mels=128, fmin=0, fmax=12000)
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape == (128, 513)
    assert np.abs(ours - theirs).max() <= 1e-6
    np.testing.assert_array_equal(ours, theirs)  # in fact bit-identical (same float64 steps, same float32 rounding)


def test_log_mel_equals_the_official_mel_spectrogram() -> None:
    import_qwen_tts()
    from qwen_tts.core.models.modeling_qwen3_tts import mel_spectrogram

    log_mel = LogMel()
    for n in (24000, 24000 * 3 + 77):
        audio = torch.from_numpy(voice_like(n, 24000, n / 24000, level=0.9))[None]
        theirs = mel_spectrogram(audio, n_fft=1024, num_mels=128, sampling_rate=24000, hop_size=256, win_size=1024,
                                 fmin=0, fmax=12000)
        ours = log_mel(audio)
        assert ours.shape == theirs.shape == (1, 128, 1 + (n - 256) // 256)
        assert float((ours - theirs).abs().max()) <= 1e-5


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 32000, 44100, 48000])
def test_resampling_is_librosa_default_bit_for_bit(sr: int) -> None:
    # `sr` samples at 44.1 kHz is the case where soxr alone returns 24000 samples and librosa 24001.
    for n in (sr, 3 * sr + 7, 12345):
        x = voice_like(n, sr, n / sr)
        theirs = librosa.resample(x, orig_sr=sr, target_sr=24000)
        ours = resample_to_24k(x, sr)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours, theirs)
    x = voice_like(0, 24000, 1.0)
    assert resample_to_24k(x, 24000) is x or np.array_equal(resample_to_24k(x, 24000), x)


@pytest.mark.parametrize(("fmt", "subtype", "channels"), [("WAV", "PCM_16", 2), ("WAV", "FLOAT", 1),
                                                          ("FLAC", "PCM_24", 2), ("OGG", "VORBIS", 2)])
def test_decoding_equals_the_official_path_and_bytes_loaders(fmt: str, subtype: str, channels: int,
                                                             tmp_path: Path, oracle_for: Callable[..., Any]) -> None:
    """The wrapper reads paths with librosa.load and base64/bytes with soundfile; both equal our decode + mean."""
    oracle = oracle_for("tiny-base")
    data = _encode(voice_like(5, 44100, 1.5, channels=channels), 44100, fmt, subtype)
    path = tmp_path / f"ref.{fmt.lower()}"
    path.write_bytes(data)
    samples, sr = decode_audio(data)
    mono = samples.mean(axis=-1)
    via_path, sr_path = oracle._load_audio_to_np(str(path))
    # A data URL: the wrapper takes bare base64 containing "/" for a file path.
    via_bytes, sr_bytes = oracle._load_audio_to_np("data:audio/x;base64," + base64.b64encode(data).decode())
    assert sr == sr_path == sr_bytes == 44100 and samples.shape[1] == channels
    np.testing.assert_array_equal(mono, via_path)
    np.testing.assert_array_equal(mono, via_bytes)
    ref = load_reference(path)
    np.testing.assert_array_equal(ref.samples, load_reference(data).samples)
    np.testing.assert_array_equal(ref.samples, librosa.resample(via_path, orig_sr=44100, target_sr=24000))


# --- x-vector and reference codes against the oracle ----------------------------------------------------


@pytest.mark.parametrize("preset", ["tiny-base", "tiny-base-1.7b"])
def test_x_vector_matches_the_oracle(preset: str, reference_files: dict[str, Path],
                                     encoders: Callable[[str], VoiceEncoders],
                                     oracle_for: Callable[..., Any]) -> None:
    oracle, enc = oracle_for(preset), encoders(preset)
    for name in ("wav44k-stereo", "flac16k-mono"):
        path = reference_files[name]
        ref = load_reference(path)
        ours = extract_voice(ref.samples, enc.speaker, enc.codec, with_codes=False)
        assert ours.ref_codes is None and ours.x_vector.dtype == torch.float32
        direct = oracle.model.extract_speaker_embedding(ref.samples, 24000)
        from_file = oracle.create_voice_clone_prompt(ref_audio=str(path), x_vector_only_mode=True)[0]
        wav, sr = sf.read(path, dtype="float32")
        wav = wav if wav.ndim == 1 else wav.mean(axis=-1)  # the wrapper crashes on a multi-channel (wav, sr)
        from_samples = oracle.create_voice_clone_prompt(ref_audio=(wav, sr), x_vector_only_mode=True)[0]
        ours_from_samples = enc.speaker.embed(reference_from_samples(wav, sr).samples)
        assert ours.x_vector.shape == direct.shape == (enc.speaker.config.enc_dim,)
        assert float((ours.x_vector - direct).abs().max()) <= 1e-4, name
        assert float((ours.x_vector - from_file.ref_spk_embedding).abs().max()) <= 1e-4, name
        assert float((ours_from_samples - from_samples.ref_spk_embedding).abs().max()) <= 1e-4, name
        assert float(ours.x_vector.std()) > 0.3  # a real vector, not a near-zero one that anything would match


def test_reference_codes_equal_the_oracle(reference_files: dict[str, Path],
                                          encoders: Callable[[str], VoiceEncoders],
                                          oracle_for: Callable[..., Any]) -> None:
    oracle, enc = oracle_for("tiny-base"), encoders("tiny-base")
    for name, path in reference_files.items():
        ref = load_reference(path)
        ours = enc.extract(ref.samples, with_codes=True)
        theirs = oracle.create_voice_clone_prompt(ref_audio=str(path), ref_text=REF_TEXT)[0]
        assert ours.ref_codes is not None and ours.ref_codes.dtype == torch.long
        assert ours.ref_codes.shape == (-(-ref.samples.size // 1920), 16), name
        assert torch.equal(ours.ref_codes, theirs.ref_code), name
        assert float((ours.x_vector - theirs.ref_spk_embedding).abs().max()) <= 1e-4, name
        assert len(set(ours.ref_codes[:, 5].tolist())) > ours.ref_codes.shape[0] // 2  # codes vary with the audio
    # (wav, sr) input, not 24 kHz: the oracle's codec resamples on its own; the codes still agree.
    wav, sr = sf.read(reference_files["wav44k-stereo"], dtype="float32")
    wav = wav.mean(axis=-1)  # the wrapper crashes on a multi-channel (wav, sr) tuple
    theirs = oracle.create_voice_clone_prompt(ref_audio=(wav, sr), ref_text=REF_TEXT)[0]
    assert torch.equal(enc.codec.encode(reference_from_samples(wav, sr).samples), theirs.ref_code)


def test_bfloat16_encoders_match_the_bfloat16_oracle(make_ckpt: Callable[..., Path]) -> None:
    """The released setup runs in bf16: the waveform is cast before Mimi, and the pooling's frame count is summed
    in bf16 (an odd count above 256 rounds), so both outputs must still agree exactly."""
    from tests.oracle import load_oracle

    path = make_ckpt("tiny-base")
    oracle = load_oracle(path, dtype=torch.bfloat16)
    ours = VoiceEncoders.from_checkpoint(path, ModelConfig.load(path), torch.bfloat16)
    samples = voice_like(4, 24000, 3.0)  # 281 mel frames
    theirs = oracle.create_voice_clone_prompt(ref_audio=(samples, 24000), ref_text=REF_TEXT)[0]
    features = ours.extract(samples, with_codes=True)
    assert features.x_vector.dtype == theirs.ref_spk_embedding.dtype == torch.bfloat16
    assert torch.equal(features.x_vector, theirs.ref_spk_embedding)
    assert torch.equal(features.ref_codes, theirs.ref_code)


# --- loading errors -------------------------------------------------------------------------------------


def _error(source: Any, limits: ReferenceLimits | None = None) -> ReferenceAudioError:
    with pytest.raises(ReferenceAudioError) as info:
        load_reference(source, limits) if limits else load_reference(source)
    assert info.value.field == "reference_audio"
    return info.value


def test_bad_references_are_rejected_with_the_field_and_a_reason(tmp_path: Path) -> None:
    assert "empty" in str(_error(b""))
    for junk in (np.random.default_rng(0).bytes(4000), b"RIFF\x10\x00\x00\x00WAVEfmt nonsense"):
        assert "not a supported audio file (WAV, FLAC, OGG)" in str(_error(junk))
    assert "too long (31.00 s)" in str(_error(_encode(voice_like(0, 16000, 31.0), 16000)))
    assert "too short (0.50 s)" in str(_error(_encode(voice_like(0, 16000, 0.5), 16000)))
    assert "silent" in str(_error(_encode(np.zeros(48000, np.float32), 24000)))
    assert "silent" in str(_error(_encode(1e-4 * voice_like(0, 24000, 2.0), 24000, subtype="FLOAT")))
    stereo = voice_like(0, 24000, 2.0)
    assert "silent" in str(_error(_encode(np.stack([stereo, -stereo], 1), 24000, subtype="FLOAT")))  # cancels out
    nan = voice_like(0, 24000, 2.0)
    nan[100] = np.nan
    assert "NaN or infinite" in str(_error(_encode(nan, 24000, subtype="FLOAT")))
    assert "too large (" in str(_error(_encode(voice_like(0, 24000, 2.0), 24000), ReferenceLimits(max_bytes=10_000)))
    assert "sample rate 4000 Hz" in str(_error(_encode(voice_like(0, 4000, 2.0), 4000)))
    assert "not found" in str(_error(tmp_path / "missing.wav"))
    with pytest.raises(ReferenceAudioError, match="floating point"):
        reference_from_samples(np.ones(48000, dtype=np.int16), 24000)


def test_any_rate_and_channel_count_becomes_24k_mono(encoders: Callable[[str], VoiceEncoders]) -> None:
    for sr, channels, seconds in ((8000, 2, 1.5), (48000, 6, 1.0), (22050, 1, 30.0)):
        wav = voice_like(sr, sr, seconds, channels=channels)
        ref = load_reference(_encode(wav, sr, subtype="FLOAT"))
        assert ref.samples.dtype == np.float32 and ref.samples.ndim == 1
        # librosa's length, ceil(N * (24000 / sr)) with a floating-point ratio: 30 s at 22.05 kHz gives 720001.
        assert ref.samples.size == int(np.ceil(wav.shape[0] * (24000 / sr))) in (seconds * 24000, seconds * 24000 + 1)
        assert (ref.source_sample_rate, ref.source_channels) == (sr, channels)
        mono = wav if channels == 1 else wav.mean(axis=-1)
        np.testing.assert_array_equal(ref.samples, librosa.resample(mono, orig_sr=sr, target_sr=24000))
    features = encoders("tiny-base").extract(load_reference(_encode(voice_like(9, 8000, 1.2, 2), 8000)).samples,
                                             with_codes=True)
    assert features.ref_codes is not None and features.ref_codes.shape == (15, 16)  # ceil(28800 / 1920)


# --- checkpoint errors ----------------------------------------------------------------------------------


def test_encoders_check_the_checkpoint(make_ckpt: Callable[..., Path], tmp_path: Path) -> None:
    custom_voice = make_ckpt("tiny")
    with pytest.raises(CheckpointError, match="only Base checkpoints have a speaker encoder"):
        SpeakerEncoder.from_checkpoint(custom_voice, ModelConfig.load(custom_voice))
    base = make_ckpt("tiny-base")
    config = ModelConfig.load(base)
    codec_dir = tmp_path / "speech_tokenizer"
    codec_dir.mkdir()
    (codec_dir / "config.json").write_bytes((base / "speech_tokenizer" / "config.json").read_bytes())
    tensors = load_file(base / "speech_tokenizer" / "model.safetensors")
    dropped = "encoder.quantizer.acoustic_residual_vector_quantizer.layers.3.codebook.embed_sum"
    del tensors[dropped]
    tensors["encoder.encoder.layers.0.conv.bias"] = torch.zeros(3)
    save_file(tensors, codec_dir / "model.safetensors")
    with pytest.raises(CheckpointError) as info:
        CodecEncoder.from_checkpoint(codec_dir, config.codec)
    assert dropped in str(info.value) and "encoder.encoder.layers.0.conv.bias: expected shape" in str(info.value)
    weights = tmp_path / "model.safetensors"
    root = load_file(base / "model.safetensors")
    root["speaker_encoder.fc.weight"] = root["speaker_encoder.fc.weight"][:-1]
    save_file(root, weights)
    with pytest.raises(CheckpointError, match="speaker_encoder.fc.weight: expected shape"):
        SpeakerEncoder.from_checkpoint(tmp_path, config)
