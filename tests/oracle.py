"""Loading the official `qwen_tts` package as a test oracle (test-only; product code never imports it).

`import qwen_tts` eagerly imports its 25 Hz tokenizer, which imports `torchaudio.compliance.kaldi`, `sox` and
`onnxruntime` at module level. None of them is used on the 12 Hz path, and the only torchaudio on PyPI for
this torch is a CUDA build that cannot load beside the CPU torch. So, before importing `qwen_tts`, each of the
three that cannot be imported gets a stand-in module in `sys.modules`: importing it succeeds, and touching
anything in it raises, so an accidental 25 Hz code path fails loudly instead of silently.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch

INSTALL_HINT = (
    "the official qwen_tts oracle is not installed: pip install -e '.[test,oracle]' "
    "&& pip install --no-deps qwen-tts==0.1.1"
)

_STAND_INS = ("torchaudio", "torchaudio.compliance", "torchaudio.compliance.kaldi", "sox", "onnxruntime")


def _stand_in(name: str) -> types.ModuleType:
    module = types.ModuleType(name, f"test stand-in for {name} (unused by the 12 Hz path)")
    module.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)

    def missing(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise AttributeError(f"{name}.{attr}: {name} is a test stand-in (the 25 Hz tokenizer is unsupported)")

    module.__getattr__ = missing  # type: ignore[method-assign]
    return module


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except (ImportError, OSError):
        return False
    return True


def install_stand_ins() -> None:
    """Put stand-ins for the 25 Hz tokenizer's unusable imports into `sys.modules` (idempotent)."""
    if not _importable("torchaudio.compliance.kaldi"):
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]  # drop a half-imported CUDA build
        for name in _STAND_INS[:3]:
            sys.modules[name] = _stand_in(name)
        sys.modules["torchaudio"].compliance = sys.modules["torchaudio.compliance"]
        sys.modules["torchaudio.compliance"].kaldi = sys.modules["torchaudio.compliance.kaldi"]
    for name in ("sox", "onnxruntime"):
        if not _importable(name):
            sys.modules[name] = _stand_in(name)


def import_qwen_tts() -> types.ModuleType:
    """Import `qwen_tts`; skip the calling test, naming the install step, if it or a dependency is missing."""
    install_stand_ins()
    return pytest.importorskip("qwen_tts", reason=INSTALL_HINT, exc_type=ImportError)


def load_oracle(
    model_dir: str | Path, dtype: torch.dtype = torch.float32, attn_implementation: str = "eager",
    device: str = "cpu",
) -> Any:
    """The official `Qwen3TTSModel` wrapper for a local checkpoint directory, on `device`."""
    qwen_tts = import_qwen_tts()
    return qwen_tts.Qwen3TTSModel.from_pretrained(
        str(model_dir), dtype=dtype, attn_implementation=attn_implementation,
        **({"device_map": device} if device != "cpu" else {}),
    )
