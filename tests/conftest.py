"""Shared fixtures: random-weight checkpoints (built once per session) and the official oracle.

    def test_a(make_ckpt):                     # any preset/seed, built on first request in this session
        path = make_ckpt("tiny-1.7b")          # -> Path; make_ckpt("tiny", seed=3) for another seed
    def test_b(tiny_ckpt, oracle_for):         # tiny_ckpt / tiny_17b_ckpt / tiny_vd_ckpt: Paths
        oracle = oracle_for("tiny")            # official Qwen3TTSModel, fp32, eager attention; cached

Tests that call `oracle_for` are skipped, naming the install step, when `qwen_tts` is not installed.
`QWEN3_TTS_TEST_DEVICE=cuda` runs the parity and batching tests (ours and the oracle) on that device
(`make gpu-check` does); the default is the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# OpenMP's default active spin-wait makes torch's two intra-op threads stall each other on the 2-vCPU test VMs:
# a tiny-model parity test took 101 s instead of 8 s. Passive waiting fixes it. It must be set before torch
# (and so its OpenMP runtime) is loaded, hence before the import below. An explicit setting is respected.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from tests.oracle import load_oracle  # noqa: E402

TEST_DEVICE = os.environ.get("QWEN3_TTS_TEST_DEVICE", "cpu")

# One torch thread in the test process and in every server the tests start (QWEN3_TTS_THREADS), unless said
# otherwise: the tiny checkpoints' products are too small to share, and on the 2-vCPU machines two threads per
# process made the suite up to 2.4x slower (docs/benchmarks.md). The `two_threads` fixture (below) keeps the
# multi-threaded determinism the workers rely on under test.
TEST_THREADS = int(os.environ.get("QWEN3_TTS_TEST_THREADS", "1"))
torch.set_num_threads(TEST_THREADS)
os.environ.setdefault("QWEN3_TTS_THREADS", str(TEST_THREADS))


@pytest.fixture(scope="session")
def make_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`make_ckpt(preset, seed=0) -> Path`, built with the maker's Python API once per session."""
    from tools.make_checkpoint import make_checkpoint  # torch + transformers: import only when used

    built: dict[tuple[str, int], Path] = {}

    def build(preset: str, seed: int = 0) -> Path:
        key = (preset, seed)
        if key not in built:
            out = tmp_path_factory.mktemp(f"ckpt-{preset}-seed{seed}")
            make_checkpoint(preset, out, seed)
            built[key] = out
        return built[key]

    return build


@pytest.fixture(scope="session")
def tiny_ckpt(make_ckpt: Callable[..., Path]) -> Path:
    return make_ckpt("tiny")


@pytest.fixture(scope="session")
def tiny_17b_ckpt(make_ckpt: Callable[..., Path]) -> Path:
    return make_ckpt("tiny-1.7b")


@pytest.fixture(scope="session")
def tiny_vd_ckpt(make_ckpt: Callable[..., Path]) -> Path:
    return make_ckpt("tiny-voice-design")


@pytest.fixture(scope="session")
def oracle_for(make_ckpt: Callable[..., Path]) -> Callable[..., Any]:
    """`oracle_for(preset, seed=0)`: the official `Qwen3TTSModel` (fp32, eager) for that checkpoint.

    Loaded once per session and shared across tests: do not mutate it (e.g. its generation config) without
    restoring it."""
    loaded: dict[tuple[str, int], Any] = {}

    def get(preset: str, seed: int = 0) -> Any:
        key = (preset, seed)
        if key not in loaded:
            loaded[key] = load_oracle(make_ckpt(preset, seed), device=TEST_DEVICE)
        return loaded[key]

    return get


WORKER_THREADS = max(2, len(os.sched_getaffinity(0)))  # what a lone worker gets here: at least 2


@contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run a block with `n` torch threads, then go back to the suite's."""
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(TEST_THREADS)


@pytest.fixture
def two_threads() -> Iterator[int]:
    """The test runs with the threads a worker gets (at least 2): a row's bits must not depend on which thread
    computes it."""
    with torch_threads(WORKER_THREADS) as n:
        yield n
