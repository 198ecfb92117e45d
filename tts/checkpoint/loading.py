"""Finding and loading a checkpoint: a local directory in the official layout, or a Hugging Face hub id.

Weights are checked against the modules before anything is loaded (every expected key present, every shape
equal), then mapped from disk with safetensors and cast to the requested dtype/device.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from tts.checkpoint.config import ConfigError, ModelConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
REQUIRED_FILES = ("config.json", "generation_config.json", "model.safetensors", "vocab.json", "merges.txt",
                  "tokenizer_config.json", "speech_tokenizer/config.json", "speech_tokenizer/model.safetensors")
# Keys of the root checkpoint that the acoustic model does not load (the Base speaker encoder is separate).
ACOUSTIC_IGNORED = ("speaker_encoder.",)


class CheckpointError(ValueError):
    """The checkpoint cannot be used: missing files, wrong architecture, wrong shapes, unsupported options."""


@dataclass(frozen=True)
class CheckpointLocation:
    path: Path
    loaded_from_hub: bool


def resolve(model: str, *, hub_timeout_s: float = 10.0) -> CheckpointLocation:
    """A local directory as is; otherwise a hub id (`org/name`) downloaded once into the HF cache."""
    path = Path(model).expanduser()
    if path.is_dir():
        missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
        if missing:
            raise CheckpointError(f"{path} is not a complete Qwen3-TTS checkpoint: missing {', '.join(missing)}")
        return CheckpointLocation(path, loaded_from_hub=False)
    if path.exists() or model.count("/") != 1 or model.startswith((".", "/", "~")):
        raise CheckpointError(f"{model!r} is neither a checkpoint directory nor a hub id like 'Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice'")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        local = snapshot_download(model, etag_timeout=hub_timeout_s)
    except LocalEntryNotFoundError as e:
        raise CheckpointError(
            f"cannot download {model!r} from the Hugging Face hub and it is not in the local cache "
            f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}): no network? Download it on a connected machine "
            "(huggingface-cli download <id> --local-dir DIR) and pass --model DIR"
        ) from e
    except HfHubHTTPError as e:
        raise CheckpointError(f"the hub refused {model!r}: {e}") from e
    return CheckpointLocation(Path(local), loaded_from_hub=True)


def parse_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise CheckpointError(f"unsupported dtype {name!r}; choose one of {', '.join(DTYPES)}")
    return DTYPES[name]


def parse_device(name: str) -> torch.device:
    """cpu | cuda | cuda:N | auto (CUDA when available, else CPU)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise CheckpointError(f"unknown device {name!r}") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError(f"device {name!r} requested but CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise CheckpointError(f"unsupported device type {device.type!r}; use cpu or cuda")
    return device


def load_config(path: Path) -> ModelConfig:
    try:
        return ModelConfig.load(path)
    except ConfigError as e:
        raise CheckpointError(f"not a usable Qwen3-TTS 12 Hz checkpoint: {e}") from e


def load_weights(module: nn.Module, file: Path, dtype: torch.dtype, device: torch.device, *,
                 prefix: str = "", ignore: tuple[str, ...] = ()) -> None:
    """Check `module`'s parameters against the tensors under `prefix` in `file`, then load and cast them.

    Every missing key, unexpected key (under `prefix`, not starting with one of `ignore`) and shape mismatch is
    named in one CheckpointError, before any tensor is read.
    """
    if not file.is_file():
        raise CheckpointError(f"weights not found: {file}")
    expected = {prefix + k: tuple(v.shape) for k, v in module.state_dict().items()}
    try:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()
                     if k.startswith(prefix) and not k.startswith(ignore)}
            problems = _mismatches(expected, found)
            if problems:
                raise CheckpointError(f"{file} does not match the config: " + "; ".join(problems))
            state = {k[len(prefix):]: _aligned(f.get_tensor(k).to(device=device, dtype=dtype)) for k in expected}
    except SafetensorError as e:
        raise CheckpointError(f"{file}: cannot read safetensors file ({e})") from e
    module.load_state_dict(state, strict=True, assign=True)


# PyTorch's CPU allocator aligns to 64 bytes; a tensor read straight from a safetensors file (no cast) lies
# wherever the file put it. MKL and oneDNN round some products differently for a misaligned operand (seen on
# an AMD EPYC Zen 5: the same codec weights, saved with one key fewer, decoded 1.6e-6 apart), so a checkpoint's
# bits would depend on its byte layout. Copying those tensors makes them the same bits whatever the file.
WEIGHT_ALIGNMENT = 64


def _aligned(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.device.type == "cpu" and t.data_ptr() % WEIGHT_ALIGNMENT else t


def _mismatches(expected: dict[str, tuple], found: dict[str, tuple]) -> list[str]:
    def names(keys: list[str], limit: int = 8) -> str:
        return ", ".join(keys[:limit]) + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")

    problems = []
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    if missing:
        problems.append(f"missing keys ({len(missing)}): {names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {names(unexpected)}")
    for k in sorted(expected.keys() & found.keys()):
        if expected[k] != found[k]:
            problems.append(f"{k}: expected shape {list(expected[k])}, found {list(found[k])}")
    return problems
