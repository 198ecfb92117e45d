"""`python -m workers synth-batch`: every request's files equal what the engine makes for it alone, the summary
reports timings, and a bad requests file is refused line by line before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from contract.request import GREEDY, Sampling, SynthesisRequest
from tts.cli.batch_job import _arrivals
from tts.engine.loader import load_engine
from workers.__main__ import main

LINES = [
    {"id": "a", "text": "Hello world, this is a test.", "speaker": "ryan", "language": "english", "greedy": True,
     "max_frames": 20},
    {"id": "b", "text": "今天天气很好。", "speaker": "vivian", "language": "chinese", "seed": 3, "max_frames": 30},
    {"id": "c.long", "text": "Another sentence, a longer one.", "speaker": "eric", "seed": 4, "max_frames": 80},
]


def _write(tmp_path, lines) -> str:
    path = tmp_path / "req.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return str(path)


def test_outputs_equal_solo_runs_and_summary_is_complete(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["synth-batch", "--model", str(tiny_ckpt), "--requests", _write(tmp_path, LINES), "--out-dir", str(out),
               "--max-batch", "2", "--arrival-rate", "20"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["requests"] == 3 and summary["slots"] == 2 and summary["frames_per_second"] > 0
    by_id = {r["id"]: r for r in summary["per_request"]}
    assert by_id["b"]["seed"] == 3 and all(r["time_to_first_frame_s"] > 0 for r in by_id.values())
    assert summary["frames"] == sum(r["frames"] for r in by_id.values())
    # The same engine configuration (2 slots, same cache size) run one request at a time.
    engine = load_engine(str(tiny_ckpt), slots=2, max_context=_context(LINES))
    for line in LINES:
        req = SynthesisRequest(text=line["text"], voice=line["speaker"], language=line.get("language", "auto"),
                               seed=line.get("seed"), max_audio_duration_ms=(line["max_frames"]) * 80,
                               sampling=GREEDY if line.get("greedy") else Sampling())
        ref = engine.synthesize(req)
        codes = np.load(out / f"{line['id']}.npy")
        pcm, sr = sf.read(out / f"{line['id']}.wav", dtype="float32")
        assert sr == 24000 and codes.dtype == np.int64 and by_id[line["id"]]["frames"] == len(codes)
        np.testing.assert_array_equal(codes, ref.codes)
        np.testing.assert_array_equal(pcm, ref.pcm)


def _context(lines) -> int:
    # What the CLI sizes the cache to (tokens never exceed UTF-8 bytes).
    return max(len(x["text"].encode()) + 32 + x["max_frames"] for x in lines)


@pytest.mark.parametrize("lines, message", [
    (["{not json"], "req.jsonl:1: not JSON"),
    ([{"id": "a", "text": "Hi", "speaker": "ryan", "colour": "red"}], "req.jsonl:1: unknown field(s) colour"),
    ([{"text": "Hi", "speaker": "ryan"}], "req.jsonl:1: id: required"),
    ([{"id": "../x", "text": "Hi", "speaker": "ryan"}], "req.jsonl:1: id: required"),
    ([LINES[0], {**LINES[1], "id": "a"}], "req.jsonl:2: id: 'a' is used twice"),
    ([LINES[0], {"id": "z", "text": "Hi", "speaker": "nobody"}], "req.jsonl:2: speaker:"),
    ([{"id": "z", "text": "Hi", "speaker": "ryan", "seed": "7"}], "req.jsonl:1: seed: expected int"),
    ([], "has no requests"),
])
def test_bad_requests_files_are_refused_with_line_numbers(tiny_ckpt, tmp_path, capsys, lines, message):
    rc = main(["synth-batch", "--model", str(tiny_ckpt), "--requests", _write(tmp_path, lines),
               "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert not (tmp_path / "out").exists()


def test_poisson_arrivals_are_reproducible_and_have_the_requested_rate():
    a = _arrivals(2000, 4.0)
    assert a == _arrivals(2000, 4.0) and a[0] == 0.0 and all(x < y for x, y in zip(a, a[1:], strict=False))
    assert 3.7 < len(a) / a[-1] < 4.3
    assert _arrivals(3, None) == [0.0, 0.0, 0.0]
