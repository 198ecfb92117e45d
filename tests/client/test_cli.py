"""The `qwen3-tts` command line against the real servers: files and streamed PCM equal the client's audio,
listings, exit codes (2 invalid, 3 unavailable, 1 other) without tracebacks, and `say --local` equal to the
offline `python -m workers synth`.

Most commands run in-process through `client.cli.main` (fast); the ones about the process itself (stdout as a
pipe, exit status, no traceback) run `python -m client` in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from client import TTSClient
from client.cli import main
from client.cli_common import UsageError
from client.cli_say import read_text
from tests.client.conftest import TOKEN
from tests.e2e import SHORT_MS, TEXT, free_port, s16

ROOT = Path(__file__).resolve().parents[2]
SAY = ["say", TEXT, "--voice", "ryan", "--seed", "7", "--max-audio-ms", str(SHORT_MS)]


@pytest.fixture
def cv_env(cv, monkeypatch) -> dict[str, str]:
    """The CLI's environment for the CustomVoice server (address and token from the environment)."""
    env = {"QWEN3_TTS_SERVER": cv.address, "QWEN3_TTS_TOKEN": TOKEN}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def expected_pcm(cv) -> bytes:
    """What SAY produces, through the client library."""
    with TTSClient(cv.address, token=TOKEN, timeout=60) as tts:
        return tts.synthesize(TEXT, voice="ryan", seed=7, max_audio_ms=SHORT_MS).audio()


def cli(*args: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "client", *args], cwd=ROOT, input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_say_writes_a_wav_whose_samples_equal_the_streamed_pcm(cv_env, expected_pcm, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main([*SAY, "-o", str(out)]) == 0
    data, rate = sf.read(out, dtype="int16")
    assert rate == 24000 and sf.info(out).channels == 1 and sf.info(out).subtype == "PCM_16"
    np.testing.assert_array_equal(data, s16(expected_pcm))
    err = capsys.readouterr().err
    assert err.startswith(f"wrote {out}: 0.80 s of audio (pcm_s16le 24000 Hz), voice ryan, seed 7, max_duration")
    assert "audio received" not in err  # no progress line: stderr is not a terminal


def test_say_stream_writes_raw_pcm_to_stdout(cv_env, expected_pcm):
    piped = cli("say", "-", "--voice", "ryan", "--seed", "7", "--max-audio-ms", str(SHORT_MS), "--stream",
                "--progress", stdin=TEXT.encode() + b"\n")  # text from stdin
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == expected_pcm
    err = piped.stderr.decode()
    assert "0.80 s of audio received, real-time factor" in err and "streamed: 0.80 s of audio" in err


def test_say_ogg_output_is_a_valid_ogg_opus_file(cv_env, tmp_path, capsys):
    out = tmp_path / "out.ogg"
    assert main(["say", TEXT, "-o", str(out), "--max-audio-ms", str(SHORT_MS), "--sample-rate", "16000", "-q"]) == 0
    info = sf.info(out)
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("OGG", "OPUS", 16000, 12800)
    assert open(out, "rb").read(4) == b"OggS" and capsys.readouterr().err == ""


def test_voices_and_info_print_the_server_content(cv, cv_env, capsys):
    assert main(["voices"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["aiden", "dylan", "eric", "ono_anna", "ryan", "serena", "sohee",
                                                   "uncle_fu", "vivian"]
    assert all(line.split()[1] == "built-in" for line in lines)
    assert main(["voices", "--language", "english", "--json"]) == 0
    assert '"languages": ["english"]' in capsys.readouterr().out.splitlines()[0]

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"model              {cv.model} (custom_voice)"
    for line in ("server version     0.1.0", "chunk duration     20..100 ms (default 80)",
                 "max text           5000 characters", "voice cloning      no",
                 "pcm_s16le  8000 16000 22050 [24000] 44100 48000 Hz", "ogg_opus   8000 12000 16000 [24000] 48000 Hz"):
        assert line in out


def test_invalid_request_exits_2_listing_the_violations(cv_env, tmp_path):
    out = tmp_path / "never.wav"
    result = cli("say", "", "-o", str(out), "--chunk-ms", "5", "--request-id", "cli-invalid-1", env=cv_env)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and lines[0] == "error: invalid request [request id cli-invalid-1]"
    assert lines[1] == "  text: must not be empty" and lines[2].startswith("  chunk_duration_ms: ")
    assert len(lines) == 3 and not out.exists() and list(tmp_path.iterdir()) == []


def test_unreachable_server_exits_3():
    result = cli("say", TEXT, "--stream", "--server", f"127.0.0.1:{free_port()}")
    err = result.stderr.decode()
    assert result.returncode == 3 and err.startswith("error: UNAVAILABLE: ") and "Traceback" not in err
    assert result.stdout == b""


def test_other_server_errors_exit_1_in_one_line(cv_env, capsys, monkeypatch):
    monkeypatch.delenv("QWEN3_TTS_TOKEN")
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: UNAUTHENTICATED: ") and "(reason MISSING_TOKEN)" in err and len(err.splitlines()) == 1


def test_usage_errors_exit_2_before_any_call(capsys):
    assert main(["say", TEXT, "--server", "127.0.0.1:1"]) == 2
    assert "choose where the audio goes" in capsys.readouterr().err
    assert main(["say", TEXT, "-o", "out.m4a"]) == 2
    assert "cannot tell the audio format" in capsys.readouterr().err
    assert main(["say", TEXT, "-o", "out.mp3", "--float"]) == 2
    assert main(["say", TEXT, "-o", "out.flac", "--float"]) == 2
    assert main(["say", TEXT, "--stream", "--local"]) == 2
    assert "--local needs --model" in capsys.readouterr().err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(UsageError, match="no text"):
        read_text(None, Terminal())
    assert read_text(None, io.StringIO("  piped text\n")) == "piped text" == read_text("-", io.StringIO("piped text"))


def test_register_and_delete_voice_commands(base, tls_cert, reference_wav, capsys):
    conn = ["--server", base.address] + (["--tls", "--ca-cert", str(tls_cert[0])] if tls_cert else [])
    assert main(["register-voice", "dave", "--ref-audio", str(reference_wav), "--ref-text", "Hello there.",
                 "--description", "from the cli", *conn]) == 0
    assert capsys.readouterr().out.split() == ["registered", "dave", "registered,", "in-context", "from", "the",
                                               "cli"]
    assert main(["voices", *conn]) == 0
    assert capsys.readouterr().out.split()[:2] == ["dave", "registered,"]
    assert main(["delete-voice", "dave", *conn]) == 0
    assert main(["delete-voice", "dave", *conn]) == 1
    assert "error: NOT_FOUND: " in capsys.readouterr().err


def test_say_local_equals_the_offline_workers_synth(make_ckpt, tmp_path, capsys):
    from workers.__main__ import main as workers_main

    ckpt = str(make_ckpt("tiny"))
    assert workers_main(["synth", "--model", ckpt, "--text", TEXT, "--speaker", "ryan", "--seed", "11",
                         "--max-frames", "10", "--out", str(tmp_path / "offline.wav")]) == 0
    assert main(["say", TEXT, "--local", "--model", ckpt, "--voice", "ryan", "--seed", "11", "--max-audio-ms",
                 str(SHORT_MS), "--float", "-o", str(tmp_path / "local.wav")]) == 0
    assert main(["say", TEXT, "--local", "--model", ckpt, "--voice", "ryan", "--seed", "11", "--max-audio-ms",
                 str(SHORT_MS), "-o", str(tmp_path / "local16.wav")]) == 0
    offline, rate = sf.read(tmp_path / "offline.wav", dtype="float32")
    local, local_rate = sf.read(tmp_path / "local.wav", dtype="float32")
    assert rate == local_rate == 24000 and offline.size == 19200
    np.testing.assert_array_equal(local, offline)  # bit for bit: the same engine shape and seed
    local16, _ = sf.read(tmp_path / "local16.wav", dtype="int16")
    np.testing.assert_array_equal(local16, np.rint(np.clip(offline.astype(np.float64), -1, 1) * 32767))
    assert "voice ryan, seed 11" in capsys.readouterr().err
    assert main(["say", TEXT, "--local", "--model", ckpt, "--voice", "nobody", "-o", str(tmp_path / "x.wav")]) == 2
    assert "  voice: 'nobody' is not a voice of this model" in capsys.readouterr().err


def test_the_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["qwen3-tts"] == "client.cli:main"


def test_say_dry_run_prints_the_segments_as_spoken(cv_env, capsys):
    text = "Meet Dr. Smith at 2:30 pm.\n\nThen pay $5."
    assert main(["say", text, "--dry-run", "--language", "english"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["source"] for x in lines] == [[0, 26], [28, 40]]
    assert lines[0]["text"].startswith("Meet Doctor Smith at two thirty") and "five dollars" in lines[1]["text"]


def test_say_stream_input_reads_stdin_as_it_arrives(cv_env, expected_pcm):
    proc = subprocess.Popen([sys.executable, "-m", "client", "say", "--stream-input", "--stream", "--voice", "ryan",
                             "--seed", "7", "--max-audio-ms", str(SHORT_MS)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **cv_env})
    for piece in (TEXT[:5], TEXT[5:17], TEXT[17:]):  # written in pieces, as an LLM would
        proc.stdin.write(piece.encode())
        proc.stdin.flush()
        time.sleep(0.05)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.wait(120) == 0, err
    assert out == expected_pcm  # the same text and seed as SAY: the same audio
