"""`make gpu-check`'s script, run on the CPU before a GPU ever runs it: it refuses to pretend without CUDA, and
its CPU mode goes through every stage (checkpoints, device tests, the real server, the JSON summary)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.e2e import ROOT


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check would run for real")
def test_without_cuda_the_check_fails_loudly(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tools.gpu_check", "--out", str(tmp_path / "x.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "CUDA is not available" in proc.stderr and not (tmp_path / "x.json").exists()


@pytest.mark.slow
def test_cpu_mode_runs_every_stage_end_to_end(tmp_path):
    out = tmp_path / "cpu-check.json"
    proc = subprocess.run([sys.executable, "-m", "tools.gpu_check", "--device", "cpu", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["ok"] and summary["tests"]["tests"] == 2 and summary["tests"]["failures"] == 0
    results = summary["server"]["eager"]["results"]
    assert [r["streams"] for r in results] == [1, 2]
    assert all(r["ttfa_p50_s"] > 0 and r["frames_per_second"] > 0 for r in results)
