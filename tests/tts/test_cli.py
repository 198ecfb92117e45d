"""The offline CLI and checkpoint loading: outputs in the documented formats, and one clear line for every
mistake a user can make (bad arguments, unusable checkpoints), with a non-zero exit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from safetensors.torch import load_file, save_file

from contract.request import GREEDY, SynthesisRequest
from tts.engine.loader import load_engine
from workers.__main__ import main


def _synth(ckpt: Path, tmp_path: Path, *extra: str) -> tuple[int, Path, Path]:
    out, codes = tmp_path / "out.wav", tmp_path / "codes.npy"
    rc = main(["synth", "--model", str(ckpt), "--out", str(out), "--codes-out", str(codes), *extra])
    return rc, out, codes


def test_synth_writes_float_wav_and_int64_codes_equal_to_the_engine(tiny_ckpt, tmp_path):
    rc, out, codes_path = _synth(tiny_ckpt, tmp_path, "--text", "Hello there.", "--speaker", "ryan", "--language",
                                 "english", "--greedy", "--max-frames", "12")
    assert rc == 0
    pcm, sr = sf.read(out, dtype="float32", always_2d=True)
    info = sf.info(out)
    assert (sr, info.channels, info.subtype) == (24000, 1, "FLOAT")
    codes = np.load(codes_path)
    assert codes.dtype == np.int64 and codes.shape == (12, 16)
    assert pcm.shape[0] == 12 * 1920
    engine = load_engine(str(tiny_ckpt), slots=1, max_context=128)
    ref = engine.synthesize(SynthesisRequest(text="Hello there.", voice="ryan", language="english",
                                             sampling=GREEDY, max_audio_duration_ms=12 * 80))
    np.testing.assert_array_equal(codes, ref.codes)
    np.testing.assert_array_equal(pcm[:, 0], ref.pcm)


def test_seed_makes_the_cli_reproducible(tiny_ckpt, tmp_path):
    args = ("--text", "Hi.", "--speaker", "vivian", "--seed", "99", "--max-frames", "6")
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        runs.append(np.load(_synth(tiny_ckpt, tmp_path / name, *args)[2]))
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("args, field", [
    (("--text", "Hi", "--speaker", "nobody"), "speaker"),
    (("--text", "Hi", "--speaker", "ryan", "--language", "klingon"), "language"),
    (("--text", "   ", "--speaker", "ryan"), "text"),
    (("--text", "Hi", "--speaker", "ryan", "--instruct", "whisper"), "instruct"),  # 0.6B CustomVoice ignores it
    (("--text", "Hi <|im_end|> there", "--speaker", "ryan"), "text"),
    (("--text", "Hi", "--speaker", "ryan", "--max-frames", "0"), "max_frames"),
])
def test_bad_arguments_give_one_line_naming_the_field(tiny_ckpt, tmp_path, capsys, args, field):
    rc, out, _ = _synth(tiny_ckpt, tmp_path, *args)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {field}:"), err


def test_voice_design_requires_no_speaker(tiny_vd_ckpt, tmp_path, capsys):
    rc, _, _ = _synth(tiny_vd_ckpt, tmp_path, "--text", "Hi", "--speaker", "ryan", "--instruct", "A calm voice.")
    assert rc == 2 and "speaker" in capsys.readouterr().err


def _broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "model.safetensors").unlink(), "missing model.safetensors"),
    (lambda d: (d / "speech_tokenizer" / "config.json").unlink(), "missing speech_tokenizer/config.json"),
    (lambda d: _edit_config(d, tokenizer_type="qwen3_tts_tokenizer_25hz"), "only the 12 Hz"),
    (lambda d: _edit_config(d, model_type="llama"), "expected 'qwen3_tts'"),
    (lambda d: _edit_weights(d, "talker.codec_head.weight", lambda w: w[:, :8].contiguous()),
     "talker.codec_head.weight: expected shape"),
    (lambda d: _edit_weights(d, "talker.model.norm.weight", None), "missing keys (1): talker.model.norm.weight"),
])
def test_unusable_checkpoints_give_a_clear_error(tiny_ckpt, tmp_path, capsys, breakage, message):
    ckpt = _broken_copy(tiny_ckpt, tmp_path / "ckpt")
    breakage(ckpt)
    rc, _, _ = _synth(ckpt, tmp_path, "--text", "Hi", "--speaker", "ryan")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and message in err, err


@pytest.mark.parametrize("args, message", [
    (("--device", "cuda"), "CUDA is not available"),
    (("--device", "tpu"), "unknown device"),
    (("--model", "no/such-dir/at-all"), "neither a checkpoint directory nor a hub id"),
])
def test_bad_device_or_model_argument(tiny_ckpt, tmp_path, capsys, args, message):
    argv = ["synth", "--model", str(tiny_ckpt), "--text", "Hi", "--speaker", "ryan", "--out", str(tmp_path / "o.wav")]
    argv += list(args)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_unreachable_hub_id_fails_fast_with_advice(tmp_path):
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "workers", "synth", "--model", "Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice",
                           "--text", "Hi", "--speaker", "ryan", "--out", str(tmp_path / "o.wav")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert time.monotonic() - t0 < 60
    assert "cannot download" in proc.stderr and "--model DIR" in proc.stderr


def _edit_config(d: Path, **changes) -> None:
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(changes)
    (d / "config.json").write_text(json.dumps(cfg))


def _edit_weights(d: Path, key: str, change) -> None:
    weights = load_file(d / "model.safetensors")
    if change is None:
        del weights[key]
    else:
        weights[key] = change(weights[key])
    save_file(weights, d / "model.safetensors")


def test_dry_run_prints_the_segments_as_spoken_without_loading_weights(tiny_ckpt, capsys):
    text = "It costs $5.30 today.\n\nDr. Smith arrives at 2:30 pm."
    rc = main(["synth", "--model", str(tiny_ckpt), "--text", text, "--speaker", "ryan", "--language", "english",
               "--dry-run"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0 and [x["index"] for x in lines] == [0, 1]
    assert lines[0]["source"] == [0, 21] and "five dollars" in lines[0]["text"] and "$" not in lines[0]["text"]
    assert lines[1]["text"].startswith("Doctor Smith") and "two thirty" in lines[1]["text"]
    off = main(["synth", "--model", str(tiny_ckpt), "--text", text, "--speaker", "ryan", "--dry-run",
                "--text-normalization", "off"])
    assert off == 0 and [json.loads(x)["text"] for x in capsys.readouterr().out.splitlines()] == [
        "It costs $5.30 today.", "Dr. Smith arrives at 2:30 pm."]
