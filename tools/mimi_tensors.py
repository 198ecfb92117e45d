"""Name -> shape/init table of the codec's Mimi encoder (`encoder.*` in `speech_tokenizer/model.safetensors`).

The official codec's encoder is HF's `MimiModel` with `upsample`, `decoder_transformer` and `decoder` set to
None, so the key names and shapes are read off a `MimiModel` built on the meta device (no memory, no values)
and the three dropped parts are left out. The encoder only matters for voice-clone references (Base models).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import MimiConfig, MimiModel
from transformers.models.mimi.modeling_mimi import MimiEuclideanCodebook, MimiLayerScale

from tools import init_rules as ir
from tools.checkpoint_config import mimi_encoder_config
from tools.presets import Preset
from tools.tensor_spec import Constant, Init, TensorSpec, fan_in_std

_DROPPED = ("upsample.", "decoder_transformer.", "decoder.")


def _init(module: nn.Module, param: str) -> Init:
    if isinstance(module, MimiEuclideanCodebook):
        return {"initialized": Constant(1.0), "cluster_usage": ir.CLUSTER_USAGE}.get(param, ir.MIMI_CODEBOOK)
    if isinstance(module, MimiLayerScale):
        return ir.LAYER_SCALE
    if isinstance(module, nn.LayerNorm):
        return ir.NORM_WEIGHT if param == "weight" else ir.NORM_BIAS
    if isinstance(module, nn.Linear):
        return fan_in_std(module.in_features) if param == "weight" else ir.CODEC_BIAS
    if isinstance(module, nn.Conv1d):
        fan_in = module.in_channels // module.groups * module.kernel_size[0]
        return fan_in_std(fan_in) if param == "weight" else ir.CODEC_BIAS
    raise TypeError(f"no init rule for {type(module).__name__}.{param}")


def mimi_encoder_tensors(p: Preset) -> list[TensorSpec]:
    with torch.device("meta"):
        mimi = MimiModel(MimiConfig(**mimi_encoder_config(p.codec)))
    specs: list[TensorSpec] = []
    for key, value in mimi.state_dict().items():
        if key.startswith(_DROPPED):
            continue
        owner, _, param = key.rpartition(".")
        init = _init(mimi.get_submodule(owner), param)
        specs.append(TensorSpec(f"encoder.{key}", tuple(value.shape), init))
    return specs
