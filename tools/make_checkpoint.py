"""Build a random-weight Qwen3-TTS 12 Hz checkpoint in the official layout.

    python -m tools.make_checkpoint --preset tiny --out /tmp/ckpt [--seed 0]

The result loads in the official `qwen_tts` package and in our engine: `config.json`,
`generation_config.json`, `preprocessor_config.json`, the text tokenizer (`tokenizer_config.json`,
`vocab.json`, `merges.txt`), a single-file `model.safetensors`, and `speech_tokenizer/{config.json,
preprocessor_config.json, model.safetensors}`. Weights are float32 and a pure function of (preset, seed); they
are generated and written one slice at a time, so the real-dimension preset (~4.3 GB) needs only ~0.5 GB of
memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import checkpoint_config as cc
from tools.codec_tensors import codec_tensors
from tools.model_tensors import model_tensors
from tools.presets import PRESETS, Preset, get_preset
from tools.safetensors_stream import write_safetensors
from tools.tensor_spec import TensorSpec, chunks
from tools.text_tokenizer import TextTokenIds, write_text_tokenizer

MODEL_WEIGHTS = "model.safetensors"
CODEC_DIR = "speech_tokenizer"
CODEC_WEIGHTS = f"{CODEC_DIR}/model.safetensors"


@dataclass(frozen=True)
class CheckpointInfo:
    """What `make_checkpoint` wrote."""

    preset: Preset
    out_dir: Path
    seed: int
    files: dict[str, int]  # path relative to out_dir -> size in bytes, in write order
    text_ids: TextTokenIds
    model_params: int  # root model.safetensors
    codec_params: int  # speech_tokenizer/model.safetensors

    def summary(self) -> str:
        p = self.preset
        return (
            f"preset {p.name}: {p.summary}; "
            f"talker hidden {p.talker.hidden_size} x {p.talker.num_layers} layers, "
            f"code predictor hidden {p.code_predictor.hidden_size} x {p.code_predictor.num_layers}; "
            f"{self.model_params / 1e6:.2f} M model + {self.codec_params / 1e6:.2f} M codec parameters "
            f"(fp32); seed {self.seed}; "
            f"text ids: assistant {self.text_ids.assistant}, newline {self.text_ids.newline}"
        )


def tensor_tables(preset: str | Preset) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """(root model tensors, codec tensors) of a preset: names, shapes and init, nothing allocated."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    return model_tensors(p), codec_tensors(p)


def parameter_count(specs: Sequence[TensorSpec]) -> int:
    return sum(s.numel for s in specs)


def _write_json(path: Path, data: dict[str, Any]) -> int:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path.stat().st_size


def write_config_files(preset: str | Preset, out_dir: str | Path) -> tuple[dict[str, int], TextTokenIds]:
    """Write every file except the two weight files (cheap even for the real-dimension preset).

    Returns (relative path -> size, text tokenizer ids)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    root = Path(out_dir)
    (root / CODEC_DIR).mkdir(parents=True, exist_ok=True)
    text_ids = write_text_tokenizer(root)
    tokenizer_files = ("tokenizer_config.json", "vocab.json", "merges.txt")
    files = {name: (root / name).stat().st_size for name in tokenizer_files}
    contents = {
        "config.json": cc.model_config(p, text_ids.assistant),
        "generation_config.json": cc.GENERATION_CONFIG,
        "preprocessor_config.json": cc.PREPROCESSOR_CONFIG,
        f"{CODEC_DIR}/config.json": cc.codec_config(p),
        f"{CODEC_DIR}/preprocessor_config.json": cc.CODEC_PREPROCESSOR_CONFIG,
    }
    for name, data in contents.items():
        files[name] = _write_json(root / name, data)
    return files, text_ids


def make_checkpoint(preset: str | Preset, out_dir: str | Path, seed: int = 0) -> CheckpointInfo:
    """Write the checkpoint for `preset` into `out_dir` (created if needed; files in it are overwritten)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    root = Path(out_dir)
    files, text_ids = write_config_files(p, root)
    model_specs, codec_specs = tensor_tables(p)
    for name, specs in ((MODEL_WEIGHTS, model_specs), (CODEC_WEIGHTS, codec_specs)):
        files[name] = write_safetensors(root / name, specs, lambda spec: chunks(spec, seed))
    return CheckpointInfo(
        preset=p,
        out_dir=root,
        seed=seed,
        files=files,
        text_ids=text_ids,
        model_params=parameter_count(model_specs),
        codec_params=parameter_count(codec_specs),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.make_checkpoint",
        description="Build a random-weight Qwen3-TTS checkpoint in the official layout.",
    )
    parser.add_argument("--preset", required=True, choices=list(PRESETS))
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="weights are a pure function of (preset, seed)")
    args = parser.parse_args(argv)
    info = make_checkpoint(args.preset, args.out, args.seed)
    for name, size in info.files.items():
        print(f"{size:>15,d}  {info.out_dir / name}")
    print(info.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
