"""Reading and validating the codec decoder's weights from `speech_tokenizer/model.safetensors`."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

PREFIX = "decoder."
# Present in the released checkpoint but unused when decoding (they project *into* the codebook space).
UNUSED_KEYS = frozenset({"quantizer.rvq_first.input_proj.weight", "quantizer.rvq_rest.input_proj.weight"})


class CheckpointError(ValueError):
    """The codec checkpoint is missing, unreadable, or does not fit the configured decoder."""


def read_decoder_weights(path: Path) -> dict[str, torch.Tensor]:
    """All tensors under `decoder.` with the prefix stripped (the Mimi encoder's tensors are not read)."""
    if not path.is_file():
        raise CheckpointError(f"codec checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k[len(PREFIX) :]: f.get_tensor(k) for k in f.keys() if k.startswith(PREFIX)}
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: cannot read safetensors file ({e})") from e


def check_weights(model: nn.Module, weights: dict[str, torch.Tensor], path: Path) -> None:
    """Raise CheckpointError naming every missing key, unexpected key and shape mismatch."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items() if k not in UNUSED_KEYS}
    problems = []
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    if missing:
        problems.append(f"missing keys ({len(missing)}): " + _names(missing))
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): " + _names(unexpected))
    for k in sorted(expected.keys() & found.keys()):
        if expected[k] != found[k]:
            problems.append(f"{PREFIX}{k}: expected shape {list(expected[k])}, found {list(found[k])}")
    if problems:
        raise CheckpointError(f"{path} does not match the codec config: " + "; ".join(problems))


def _names(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(PREFIX + k for k in keys[:limit])
    return shown + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")
