"""Name -> shape/init table of `speech_tokenizer/model.safetensors` (the 12 Hz codec).

The decoder part is written out from the official module tree (qwen3-tts-architecture.md §1.8, §3.1); the Mimi
encoder part comes from `mimi_tensors`. Initialisation rules and their reasons are in `init_rules`.
"""

from __future__ import annotations

from tools import init_rules as ir
from tools.checkpoint_config import CODEBOOK_SIZE, NUM_CODE_GROUPS, UPSAMPLE_RATES, UPSAMPLING_RATIOS
from tools.mimi_tensors import mimi_encoder_tensors
from tools.presets import CodecDims, Preset
from tools.tensor_spec import TensorSpec, fan_in_std


def _conv(
    name: str, out_ch: int, in_ch: int, k: int, bias: bool = True, gain: float = 1.0
) -> list[TensorSpec]:
    specs = [TensorSpec(f"{name}.weight", (out_ch, in_ch, k), fan_in_std(in_ch * k, gain))]
    if bias:
        specs.append(TensorSpec(f"{name}.bias", (out_ch,), ir.CODEC_BIAS))
    return specs


def _trans_conv(name: str, in_ch: int, out_ch: int, k: int, stride: int) -> list[TensorSpec]:
    # ConvTranspose1d stores [in, out, k]; each output sample sums in_ch * k / stride products.
    return [
        TensorSpec(f"{name}.weight", (in_ch, out_ch, k), fan_in_std(in_ch * k // stride)),
        TensorSpec(f"{name}.bias", (out_ch,), ir.CODEC_BIAS),
    ]


def _linear(name: str, out_f: int, in_f: int, bias: bool) -> list[TensorSpec]:
    specs = [TensorSpec(f"{name}.weight", (out_f, in_f), fan_in_std(in_f))]
    if bias:
        specs.append(TensorSpec(f"{name}.bias", (out_f,), ir.CODEC_BIAS))
    return specs


def _snake(name: str, ch: int) -> list[TensorSpec]:
    return [TensorSpec(f"{name}.{param}", (ch,), ir.SNAKE_LOG_PARAM) for param in ("alpha", "beta")]


def _quantizer(c: CodecDims) -> list[TensorSpec]:
    vq_dim = c.codebook_dim // 2
    specs: list[TensorSpec] = []
    for part, n in (("rvq_first", 1), ("rvq_rest", NUM_CODE_GROUPS - 1)):
        p = f"decoder.quantizer.{part}"
        for i in range(n):
            cb = f"{p}.vq.layers.{i}._codebook"
            specs.append(TensorSpec(f"{cb}.cluster_usage", (CODEBOOK_SIZE,), ir.CLUSTER_USAGE))
            specs.append(TensorSpec(f"{cb}.embedding_sum", (CODEBOOK_SIZE, vq_dim), ir.CODEBOOK))
        specs += _conv(f"{p}.input_proj", vq_dim, c.codebook_dim, 1, bias=False)  # unused when decoding
        specs += _conv(f"{p}.output_proj", c.codebook_dim, vq_dim, 1, bias=False, gain=n**-0.5)
    return specs


def _pre_transformer(c: CodecDims) -> list[TensorSpec]:
    t = c.transformer
    q_width, kv_width = t.num_heads * t.head_dim, t.num_kv_heads * t.head_dim
    specs: list[TensorSpec] = []
    for i in range(t.num_layers):
        p = f"decoder.pre_transformer.layers.{i}"
        specs += _linear(f"{p}.self_attn.q_proj", q_width, t.hidden_size, bias=False)
        specs += _linear(f"{p}.self_attn.k_proj", kv_width, t.hidden_size, bias=False)
        specs += _linear(f"{p}.self_attn.v_proj", kv_width, t.hidden_size, bias=False)
        specs += _linear(f"{p}.self_attn.o_proj", t.hidden_size, q_width, bias=False)
        specs += _linear(f"{p}.mlp.gate_proj", t.intermediate_size, t.hidden_size, bias=False)
        specs += _linear(f"{p}.mlp.up_proj", t.intermediate_size, t.hidden_size, bias=False)
        specs += _linear(f"{p}.mlp.down_proj", t.hidden_size, t.intermediate_size, bias=False)
        specs += [
            TensorSpec(f"{p}.input_layernorm.weight", (t.hidden_size,), ir.NORM_WEIGHT),
            TensorSpec(f"{p}.post_attention_layernorm.weight", (t.hidden_size,), ir.NORM_WEIGHT),
            TensorSpec(f"{p}.self_attn_layer_scale.scale", (t.hidden_size,), ir.LAYER_SCALE),
            TensorSpec(f"{p}.mlp_layer_scale.scale", (t.hidden_size,), ir.LAYER_SCALE),
        ]
    specs.append(TensorSpec("decoder.pre_transformer.norm.weight", (t.hidden_size,), ir.NORM_WEIGHT))
    specs += _linear("decoder.pre_transformer.input_proj", t.hidden_size, c.latent_dim, bias=True)
    specs += _linear("decoder.pre_transformer.output_proj", c.latent_dim, t.hidden_size, bias=True)
    return specs


def _upsample(c: CodecDims) -> list[TensorSpec]:
    dim = c.latent_dim
    specs: list[TensorSpec] = []
    for i, factor in enumerate(UPSAMPLING_RATIOS):
        p = f"decoder.upsample.{i}"
        specs += _trans_conv(f"{p}.0.conv", dim, dim, factor, factor)
        specs += _conv(f"{p}.1.dwconv.conv", dim, 1, 7)  # depthwise: groups == channels
        specs += [
            TensorSpec(f"{p}.1.norm.weight", (dim,), ir.NORM_WEIGHT),
            TensorSpec(f"{p}.1.norm.bias", (dim,), ir.NORM_BIAS),
        ]
        specs += _linear(f"{p}.1.pwconv1", 4 * dim, dim, bias=True)
        specs += _linear(f"{p}.1.pwconv2", dim, 4 * dim, bias=True)
        specs.append(TensorSpec(f"{p}.1.gamma", (dim,), ir.LAYER_SCALE))
    return specs


def _waveform_decoder(c: CodecDims) -> list[TensorSpec]:
    specs = _conv("decoder.decoder.0.conv", c.decoder_dim, c.latent_dim, 7)
    for i, rate in enumerate(UPSAMPLE_RATES):
        in_dim, out_dim = c.decoder_dim >> i, c.decoder_dim >> (i + 1)
        p = f"decoder.decoder.{i + 1}.block"
        specs += _snake(f"{p}.0", in_dim)
        specs += _trans_conv(f"{p}.1.conv", in_dim, out_dim, 2 * rate, rate)
        for j in range(3):  # residual units, dilations 1, 3, 9
            u = f"{p}.{j + 2}"
            specs += _snake(f"{u}.act1", out_dim)
            specs += _conv(f"{u}.conv1.conv", out_dim, out_dim, 7)
            specs += _snake(f"{u}.act2", out_dim)
            specs += _conv(f"{u}.conv2.conv", out_dim, out_dim, 1, gain=ir.RESIDUAL_UNIT_GAIN)
    final, n = c.decoder_dim >> len(UPSAMPLE_RATES), len(UPSAMPLE_RATES) + 1
    specs += _snake(f"decoder.decoder.{n}", final)
    specs += _conv(f"decoder.decoder.{n + 1}.conv", 1, final, 7, gain=ir.CODEC_OUTPUT_GAIN)
    return specs


def codec_decoder_tensors(p: Preset) -> list[TensorSpec]:
    c = p.codec
    return (
        _quantizer(c)
        + _conv("decoder.pre_conv.conv", c.latent_dim, c.codebook_dim, 3)
        + _pre_transformer(c)
        + _upsample(c)
        + _waveform_decoder(c)
    )


def codec_tensors(p: Preset) -> list[TensorSpec]:
    """Everything in `speech_tokenizer/model.safetensors`."""
    return mimi_encoder_tensors(p) + codec_decoder_tensors(p)
