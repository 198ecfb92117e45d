"""The stateful 12 Hz codec decoder against the official implementation (qwen_tts, a test-only oracle).

Most tests use a tiny random codec checkpoint built here with the oracle's own model class (so key names and the
file layout are the official ones), re-initialised so its output is a real, unclipped signal (HF's default init
gives ~1e-7 output), and saved in the `speech_tokenizer/` layout; one test also loads the shared `tiny_ckpt`. Measured on the dev machine (float32, output rms 0.2): max |ours - oracle|
is 0 for one frame and ~1.2e-6 for 5..330 frames; batched slots equal solo decoding to ~1.2e-6 (not bit-exact).
"""

from __future__ import annotations

import copy
import json
import shutil
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tests.oracle import import_qwen_tts
from tts.checkpoint.config import CodecConfig, ModelConfig
from tts.checkpoint.loading import CheckpointError
from tts.codec import CodecDecoder
from tts.codec import layers as codec_layers

SPF = 1920
PARITY_TOL = 1e-4  # ours (frame by frame) vs the oracle's whole-utterance forward, float32


def _import_oracle():
    """The official codec classes (skips the calling test when qwen_tts is not installed)."""
    import_qwen_tts()  # puts stand-ins for the 25 Hz tokenizer's torchaudio/sox/onnxruntime imports first
    from qwen_tts.core.tokenizer_12hz.configuration_qwen3_tts_tokenizer_v2 import Qwen3TTSTokenizerV2Config
    from qwen_tts.core.tokenizer_12hz.modeling_qwen3_tts_tokenizer_v2 import Qwen3TTSTokenizerV2Model

    return Qwen3TTSTokenizerV2Config, Qwen3TTSTokenizerV2Model


# Tiny but structurally faithful: 16 quantizers of 2048 codes, upsampling 2*2*8*5*4*3 = 1920, window 72.
TINY_DECODER = dict(
    codebook_size=2048, codebook_dim=64, latent_dim=64, hidden_size=32, num_attention_heads=4,
    num_key_value_heads=4, head_dim=16, intermediate_size=64, num_hidden_layers=2, decoder_dim=64,
    sliding_window=72, num_quantizers=16, upsample_rates=[8, 5, 4, 3], upsampling_ratios=[2, 2],
    rms_norm_eps=1e-5, rope_theta=10000, max_position_embeddings=8000,
)
TINY_ENCODER = dict(
    hidden_size=16, num_filters=2, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
    num_key_value_heads=2, head_dim=8, codebook_dim=8, vector_quantization_hidden_dimension=8,
    num_quantizers=16, codebook_size=64, upsample_groups=16,
)


def _randomise(decoder: nn.Module) -> None:
    """PyTorch default init for convs/linears, N(0,1) codebooks, small SnakeBeta logs, visible layer scales."""
    for mod in decoder.modules():
        if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
            mod.reset_parameters()
    for name, p in decoder.named_parameters():
        if name.endswith("embedding_sum"):
            p.normal_()
        elif name.endswith("cluster_usage"):
            p.uniform_(0.5, 2.0)
        elif name.endswith(("alpha", "beta")):
            p.normal_(0.0, 0.1)
        elif name.endswith(("layer_scale.scale", "gamma")):
            p.fill_(0.05)
        elif name.endswith(("norm.weight", "layernorm.weight")):
            p.normal_(1.0, 0.1)


def _normalise_output(decoder: nn.Module, codes: torch.Tensor, target_rms: float = 0.2) -> None:
    """Random weights can leave a large DC offset that saturates the final clamp (vacuous parity there): rescale
    the last conv so its pre-clamp output on `codes` has zero mean and `target_rms`."""
    final = decoder.decoder[-1].conv
    seen = []
    handle = final.register_forward_hook(lambda mod, args, out: seen.append(out))
    decoder(codes.T[None])
    handle.remove()
    y = seen[0]
    scale = target_rms / y.std()
    final.bias.copy_((final.bias - y.mean()) * scale)
    final.weight.mul_(scale)


@pytest.fixture(scope="module")
def codec(tmp_path_factory):
    """(codec_dir, CodecConfig, oracle decoder in float32, our decoder loaded from the saved checkpoint)."""
    config_cls, model_cls = _import_oracle()
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(1234)
        model = model_cls(config_cls(encoder_config=TINY_ENCODER, decoder_config=TINY_DECODER)).eval()
        _randomise(model.decoder)
        _normalise_output(model.decoder, _codes(50, seed=0))
    codec_dir = tmp_path_factory.mktemp("speech_tokenizer")
    model.save_pretrained(codec_dir)
    config = CodecConfig.parse(json.loads((codec_dir / "config.json").read_text()), "tiny codec")
    ours = CodecDecoder.from_checkpoint(codec_dir, config)
    return types.SimpleNamespace(dir=codec_dir, config=config, oracle=model.decoder, model=model, ours=ours)


def _codes(frames: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 2048, (frames, 16), generator=torch.Generator().manual_seed(seed))


_DECODED: dict[tuple[int, int, int], torch.Tensor] = {}


def _decode(dec: CodecDecoder, frames: int, seed: int) -> torch.Tensor:
    """`dec.decode(_codes(frames, seed))`, memoised across tests (the module's decoders live as long as it)."""
    key = (id(dec), frames, seed)
    if key not in _DECODED:
        _DECODED[key] = dec.decode(_codes(frames, seed))
    return _DECODED[key]


def _oracle_full(oracle, codes: torch.Tensor) -> torch.Tensor:
    """The official decoder's single whole-utterance forward (no 300-frame chunking), float32."""
    with torch.no_grad():
        return oracle(codes.T[None])[0, 0]


def _step_framewise(dec: CodecDecoder, codes: torch.Tensor) -> torch.Tensor:
    state = dec.new_state(1)
    return torch.cat([dec.step(codes[None, t : t + 1], state)[0] for t in range(codes.shape[0])])


def _all_gemm_decoder(codec) -> CodecDecoder:
    """Our decoder with every conv on the im2col-GEMM path (the tiny model is below the width that selects it)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(codec_layers, "GEMM_MIN_CHANNELS", 0)
    try:
        dec = CodecDecoder.from_checkpoint(codec.dir, codec.config)
    finally:
        mp.undo()
    assert all(m.gemm for m in dec.modules() if isinstance(m, codec_layers.CausalConv1d) and m.conv.groups == 1)
    return dec


@pytest.fixture(scope="module")
def gemm_decoder(codec):
    return _all_gemm_decoder(codec)


@pytest.fixture(scope="module")
def gemv_decoder(codec):
    """The GEMM-path decoder with its few-row float32 products through the compiled GEMV (what `auto` runs)."""
    from tts.engine.runner import compiled_gemv
    from tts.model.gemv import FewRowLinear

    dec = _all_gemm_decoder(codec)
    before = {k: v.clone() for k, v in dec.state_dict().items()}
    n = dec.use_compiled_gemv(compiled_gemv())
    after = dec.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)  # same weights
    linears = sum(isinstance(m, FewRowLinear) for m in dec.modules())
    convs = sum(isinstance(m, codec_layers.CausalTransConv1d | codec_layers.CausalConv1d) and m.product is not None
                for m in dec.modules())
    assert linears > 0 and convs > 0 and n == linears + convs
    return dec


def _decoder(codec, gemm_decoder, gemv_decoder, path: str) -> CodecDecoder:
    return {"default": codec.ours, "gemm": gemm_decoder, "gemv": gemv_decoder}[path]


# ------------------------------------------------------------------------------------------------ parity


@pytest.mark.parametrize("path", ["default", "gemm", "gemv"])
@pytest.mark.parametrize("frames", [1, 5, 73, 200])
def test_framewise_decode_matches_oracle(codec, gemm_decoder, gemv_decoder, frames, path):
    dec = _decoder(codec, gemm_decoder, gemv_decoder, path)
    codes = _codes(frames, seed=frames)
    ref = _oracle_full(codec.oracle, codes)
    out = _decode(dec, frames, seed=frames)
    assert out.dtype == torch.float32 and out.shape == (frames * SPF,) == ref.shape
    # A real signal, not silence and not clipped: otherwise the parity check would be vacuous.
    assert ref.pow(2).mean().sqrt() > 0.05 and (ref.abs() >= 1).float().mean() < 0.01
    diff = (out - ref).abs().max().item()
    print(f"frames={frames} path={path}: max|ours-oracle| = {diff:.3g}")  # measured 0 .. 1.3e-6
    assert diff <= PARITY_TOL


def test_long_utterance_matches_unchunked_oracle(codec):
    """Beyond 300 frames the official `decode` re-decodes chunks with only 25 frames of left context (seams);
    our stateful decode is exact, so it must match the oracle decoder's single full forward instead."""
    codes = _codes(330, seed=330)
    ref = _oracle_full(codec.oracle, codes)
    out = codec.ours.decode(codes)
    diff = (out - ref).abs().max().item()
    print(f"330 frames: max|ours-oracle full forward| = {diff:.3g}")
    assert diff <= PARITY_TOL
    # The first 300 frames are one chunk in the official decode: exact there too.
    with torch.no_grad():
        official = codec.model.decode(codes[None])[0][0]
    assert (out[: 300 * SPF] - official[: 300 * SPF]).abs().max() <= PARITY_TOL


# ------------------------------------------------------------------------------------------------ incremental


@pytest.mark.parametrize("path", ["default", "gemv"])
@pytest.mark.parametrize("frames", [1, 5, 73, 200])
def test_decode_is_bitwise_framewise_step(codec, gemm_decoder, gemv_decoder, frames, path):
    dec = _decoder(codec, gemm_decoder, gemv_decoder, path)
    codes = _codes(frames, seed=frames)
    assert torch.equal(_decode(dec, frames, seed=frames), _step_framewise(dec, codes))


@pytest.mark.parametrize("chunk", [3, 7])
def test_chunked_steps_match_framewise(codec, gemm_decoder, chunk):
    codes = _codes(80, seed=chunk)  # 80 frames: past the 72-frame window, and a short last chunk
    for dec in (codec.ours, gemm_decoder):
        ref = _decode(dec, 80, seed=chunk)
        state = dec.new_state(1)
        out = torch.cat([dec.step(codes[None, t : t + chunk], state)[0] for t in range(0, 80, chunk)])
        diff = (out - ref).abs().max().item()
        print(f"chunk={chunk}: max|chunked - framewise| = {diff:.3g}")
        assert diff <= 1e-5
        assert state.pos.tolist() == [80]


def test_step_advances_each_slot_and_returns_pcm(codec):
    dec = codec.ours
    state = dec.new_state(2)
    out = dec.step(_codes(6, seed=1).view(2, 3, 16), state)
    assert out.shape == (2, 3 * SPF) and out.dtype == torch.float32
    assert state.pos.tolist() == [3, 3]
    dec.reset(state, torch.tensor([1]))
    assert state.pos.tolist() == [3, 0]
    assert all(t[1].abs().sum() == 0 for t in state.kv + state.conv)
    assert any(t[0].abs().sum() > 0 for t in state.conv)


# ------------------------------------------------------------------------------------------------ batching


@pytest.mark.parametrize("path", ["default", "gemm", "gemv"])
def test_batched_slots_equal_solo_streams(codec, gemm_decoder, gemv_decoder, path):
    """3 slots, 100 steps of T=1: slot 0 runs stream A from the start; slot 1 holds garbage for 10 steps, is
    reset and runs stream B; slot 2 runs C for 80 frames (past the window), is reset mid-batch and runs D.
    Each stream must equal its solo decode up to float rounding. NOT bit-exact: with B rows instead of 1 the
    GEMM kernels (linears; im2col convs fold the batch into the rows) block the sums differently. Measured
    max diff ~1.2e-6 (output rms 0.2). No slot's output depends on another slot's codes or state."""
    dec = _decoder(codec, gemm_decoder, gemv_decoder, path)
    n = 100
    lengths = {"A": 100, "B": 90, "C": 80, "D": 20}
    a, b, c, d = (_codes(lengths[k], seed) for seed, k in enumerate("ABCD", start=1))
    garbage = _codes(n, 5)
    state = dec.new_state(3)
    got = {k: [] for k in "ABCD"}
    for t in range(n):
        if t == 10:
            dec.reset(state, torch.tensor([1]))
        if t == 80:
            dec.reset(state, [2])
        frame = torch.stack([a[t], b[t - 10] if t >= 10 else garbage[t], c[t] if t < 80 else d[t - 80]])
        pcm = dec.step(frame[:, None], state)
        got["A"].append(pcm[0])
        if t >= 10:
            got["B"].append(pcm[1])
        (got["C"] if t < 80 else got["D"]).append(pcm[2])
    assert state.pos.tolist() == [100, 90, 20]
    diffs = {}
    for seed, name in enumerate("ABCD", start=1):
        diffs[name] = (torch.cat(got[name]) - _decode(dec, lengths[name], seed)).abs().max().item()
    print(f"path={path}: max|batched - solo| per stream = {diffs}")
    assert all(v <= 1e-5 for v in diffs.values()), diffs


@pytest.mark.parametrize("path", ["default", "gemv"])
def test_a_stream_gets_the_same_bits_in_any_slot(codec, gemm_decoder, gemv_decoder, path, two_threads):
    """Within one batch size a slot's samples depend only on its own codes and state, not on where it sits or
    which thread computes it (the engine's alone-equals-batched guarantee rests on this). The CPU attention
    kernel broke it on an AMD EPYC Zen 5 with 2 threads until MKL_CBWR (tts/mkl_reproducibility.py)."""
    dec = _decoder(codec, gemm_decoder, gemv_decoder, path)
    codes = torch.stack([_codes(24, seed) for seed in range(8)])
    codes[5] = codes[0]
    state = dec.new_state(8)
    with torch.no_grad():
        for t in range(24):
            pcm = dec.step(codes[:, t:t + 1], state)
            assert torch.equal(pcm[0], pcm[5]), f"frame {t}"


# ------------------------------------------------------------------------------------------------ dtype, inputs


def test_bfloat16_params_are_as_accurate_as_the_bf16_oracle(codec):
    """bf16 rounding moves the output by ~1e-2; ours must stay as close to the float32 result as the official
    decoder run in bf16 does (the reference computes the codebook division etc. in the load dtype too)."""
    dec = CodecDecoder.from_checkpoint(codec.dir, codec.config, dtype=torch.bfloat16)
    assert {p.dtype for p in dec.parameters()} == {torch.bfloat16}
    assert all(t.dtype == torch.bfloat16 for t in dec.new_state(1).kv)
    codes = _codes(20, seed=7)
    ref32 = _oracle_full(codec.oracle, codes)
    oracle16 = _oracle_full(copy.deepcopy(codec.oracle).to(torch.bfloat16), codes).float()
    out = dec.decode(codes)
    assert out.dtype == torch.float32
    ours_err, oracle_err = (out - ref32).abs(), (oracle16 - ref32).abs()
    print(f"bf16 vs float32: ours max {ours_err.max():.3g} mean {ours_err.mean():.3g}; "
          f"oracle max {oracle_err.max():.3g} mean {oracle_err.mean():.3g}")
    assert ours_err.mean() <= 1.5 * oracle_err.mean() and ours_err.max() <= 2 * oracle_err.max()


def test_decode_rejects_bad_codes(codec):
    with pytest.raises(ValueError, match="frames, 16"):
        codec.ours.decode(torch.zeros(3, 15, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 2048\)"):
        codec.ours.decode(torch.full((3, 16), 2048))
    assert codec.ours.decode(torch.zeros(0, 16, dtype=torch.long)).shape == (0,)


# ------------------------------------------------------------------------------------------------ loading


def _copy_with(codec, tmp_path: Path, edit) -> Path:
    weights = load_file(codec.dir / "model.safetensors")
    edit(weights)
    save_file(weights, tmp_path / "model.safetensors")
    shutil.copy(codec.dir / "config.json", tmp_path / "config.json")
    return tmp_path


def test_missing_checkpoint_file(codec, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        CodecDecoder.from_checkpoint(tmp_path, codec.config)


def test_wrong_shape_names_key_and_shapes(codec, tmp_path):
    key = "decoder.pre_conv.conv.weight"

    def edit(w):
        w[key] = w[key][:, :, :2].contiguous()

    with pytest.raises(CheckpointError) as e:
        CodecDecoder.from_checkpoint(_copy_with(codec, tmp_path, edit), codec.config)
    assert f"{key}: expected shape [64, 64, 3], found [64, 64, 2]" in str(e.value)


def test_missing_and_unexpected_keys(codec, tmp_path):
    def edit(w):
        del w["decoder.decoder.6.conv.bias"]
        w["decoder.pre_transformer.layers.0.self_attn.q_proj.bias"] = torch.zeros(64)

    with pytest.raises(CheckpointError) as e:
        CodecDecoder.from_checkpoint(_copy_with(codec, tmp_path, edit), codec.config)
    msg = str(e.value)
    assert "missing keys (1): decoder.decoder.6.conv.bias" in msg
    assert "unexpected keys (1): decoder.pre_transformer.layers.0.self_attn.q_proj.bias" in msg


def test_unused_quantizer_input_proj_is_optional(codec, tmp_path):
    def edit(w):
        for k in [k for k in w if "input_proj" in k and "quantizer" in k]:
            del w[k]

    dec = CodecDecoder.from_checkpoint(_copy_with(codec, tmp_path, edit), codec.config)
    codes = _codes(2, seed=9)
    assert torch.equal(dec.decode(codes), codec.ours.decode(codes))


def test_loads_the_shared_tiny_checkpoint(tiny_ckpt):
    """The project's checkpoint maker (`tiny` preset) and ours agree on the codec layout, and we match the
    official decoder loaded from it with from_pretrained."""
    _, model_cls = _import_oracle()
    codec_dir = tiny_ckpt / "speech_tokenizer"
    dec = CodecDecoder.from_checkpoint(codec_dir, ModelConfig.load(tiny_ckpt).codec)
    oracle = model_cls.from_pretrained(str(codec_dir)).eval()
    codes = _codes(40, seed=40)
    ref = _oracle_full(oracle.decoder, codes)
    diff = (dec.decode(codes) - ref).abs().max().item()
    print(f"shared tiny checkpoint: max|ours-oracle| = {diff:.3g} (rms {ref.pow(2).mean().sqrt():.3f})")
    assert ref.pow(2).mean().sqrt() > 0.05 and diff <= PARITY_TOL


# ------------------------------------------------------------------------------------------------ compile


@pytest.mark.slow
def test_step_compiles_fullgraph(codec):
    """torch.compile(fullgraph=True) traces `step` (no graph breaks, no host syncs) and matches eager."""
    dec = codec.ours
    compiled = torch.compile(dec.step, fullgraph=True)
    codes = _codes(12, seed=11).view(6, 2, 1, 16)
    eager_state, comp_state = dec.new_state(2), dec.new_state(2)
    for t in range(6):
        if t == 3:
            dec.reset(eager_state, [1])
            dec.reset(comp_state, [1])
        want = dec.step(codes[t], eager_state)
        got = compiled(codes[t], comp_state)
        assert (got - want).abs().max() <= 1e-5
    assert torch.equal(comp_state.pos, eager_state.pos)
