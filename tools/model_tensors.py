"""Name -> shape/init table of the root `model.safetensors` (talker and code predictor).

Key names and shapes follow the official module tree (qwen3-tts-architecture.md §1.8); init rules are in
`init_rules`. With unit-scale embeddings and N(0, 1/sqrt(fan_in)) weights every sub-layer contributes at unit
scale and the logits have std ~1, so greedy argmax is decided by the model, not by rounding (top-2 gaps are
~0.1, not ~1e-6).
"""

from __future__ import annotations

from tools import init_rules as ir
from tools.checkpoint_config import CODEBOOK_SIZE, CODEC_VOCAB_SIZE, NUM_CODE_GROUPS, TEXT_VOCAB_SIZE
from tools.presets import Preset
from tools.speaker_encoder_tensors import speaker_encoder_tensors
from tools.tensor_spec import TensorSpec, fan_in_std, torch_default
from tts.checkpoint.config import DecoderDims


def _linear(name: str, out_features: int, in_features: int, bias: bool = False) -> list[TensorSpec]:
    specs = [TensorSpec(f"{name}.weight", (out_features, in_features), fan_in_std(in_features))]
    if bias:
        specs.append(TensorSpec(f"{name}.bias", (out_features,), torch_default(in_features)))
    return specs


def _norm(name: str, size: int) -> TensorSpec:
    return TensorSpec(f"{name}.weight", (size,), ir.NORM_WEIGHT)


def decoder_layers(prefix: str, s: DecoderDims) -> list[TensorSpec]:
    """Qwen3 decoder layers (GQA attention with per-head q/k RMSNorm, SwiGLU MLP), no biases."""
    q_width, kv_width = s.num_heads * s.head_dim, s.num_kv_heads * s.head_dim
    specs: list[TensorSpec] = []
    for i in range(s.num_layers):
        p = f"{prefix}.layers.{i}"
        specs += _linear(f"{p}.self_attn.q_proj", q_width, s.hidden_size)
        specs += _linear(f"{p}.self_attn.k_proj", kv_width, s.hidden_size)
        specs += _linear(f"{p}.self_attn.v_proj", kv_width, s.hidden_size)
        specs += _linear(f"{p}.self_attn.o_proj", s.hidden_size, q_width)
        specs += [_norm(f"{p}.self_attn.q_norm", s.head_dim), _norm(f"{p}.self_attn.k_norm", s.head_dim)]
        specs += _linear(f"{p}.mlp.gate_proj", s.intermediate_size, s.hidden_size)
        specs += _linear(f"{p}.mlp.up_proj", s.intermediate_size, s.hidden_size)
        specs += _linear(f"{p}.mlp.down_proj", s.hidden_size, s.intermediate_size)
        specs += [_norm(f"{p}.input_layernorm", s.hidden_size)]
        specs += [_norm(f"{p}.post_attention_layernorm", s.hidden_size)]
    specs.append(_norm(f"{prefix}.norm", s.hidden_size))
    return specs


def talker_tensors(p: Preset) -> list[TensorSpec]:
    d, th = p.talker.hidden_size, p.text_hidden_size
    return [
        TensorSpec("talker.model.codec_embedding.weight", (CODEC_VOCAB_SIZE, d), ir.EMBEDDING),
        TensorSpec("talker.model.text_embedding.weight", (TEXT_VOCAB_SIZE, th), ir.EMBEDDING),
        *decoder_layers("talker.model", p.talker),
        *_linear("talker.text_projection.linear_fc1", th, th, bias=True),
        *_linear("talker.text_projection.linear_fc2", d, th, bias=True),
        *_linear("talker.codec_head", CODEC_VOCAB_SIZE, d),
    ]


def code_predictor_tensors(p: Preset) -> list[TensorSpec]:
    """The residual-codebook predictor. Its codec_embedding tables have the TALKER width (the talker sums them
    un-projected); on the 1.7B layout they pass through small_to_mtp_projection inside the predictor."""
    cp, d = p.code_predictor, p.talker.hidden_size
    specs = decoder_layers("talker.code_predictor.model", cp)
    for i in range(NUM_CODE_GROUPS - 1):
        name = f"talker.code_predictor.model.codec_embedding.{i}.weight"
        specs.append(TensorSpec(name, (CODEBOOK_SIZE, d), ir.EMBEDDING))
    for i in range(NUM_CODE_GROUPS - 1):
        specs += _linear(f"talker.code_predictor.lm_head.{i}", CODEBOOK_SIZE, cp.hidden_size)
    if p.has_mtp_projection:
        specs += _linear("talker.code_predictor.small_to_mtp_projection", cp.hidden_size, d, bias=True)
    return specs


def model_tensors(p: Preset) -> list[TensorSpec]:
    """Everything in the root `model.safetensors` (the speaker encoder only for Base presets)."""
    return talker_tensors(p) + code_predictor_tensors(p) + speaker_encoder_tensors(p)
