"""Precision per component: every mode loads for every model size and type, int8 linears do what they say,
and within a mode a request's codes and samples are the same alone or in a batch.

Quality against float32 is judged on the real-dimension checkpoint (tools/quality_gate.py, `make
quality-gate`, and the slow test at the end): tiny random models are too chaotic for numeric thresholds.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from contract.request import GREEDY, SynthesisRequest
from tts.checkpoint.config import DecoderDims
from tts.checkpoint.loading import CheckpointError
from tts.codec.layers import CausalConv1d, CausalTransConv1d
from tts.engine.loader import load_engine, warm_up
from tts.engine.precision import choose_precision, default_dtype
from tts.model import cpu_isa
from tts.model.gemv import pack_words, unpack_words
from tts.model.layers import DecoderLayer
from tts.model.quantized import Int8Linear, fuse_projections, quantize_linears, quantize_per_channel

MODES = [("float32", "none"), ("bfloat16", "none"), ("float32", "int8"), ("bfloat16", "int8"), ("float32", "auto")]
HAS_FP16 = cpu_isa.detect().avx512_fp16
PRESETS = ["tiny", "tiny-1.7b", "tiny-voice-design", "tiny-base", "tiny-base-1.7b"]


def test_none_with_float32_is_the_exact_default():
    p = choose_precision()  # dtype auto: float32 on a CPU
    assert (p.talker, p.code_predictor, p.codec, p.exact, p.compile_step) == ("float32", "float32", "float32", True,
                                                                                False)


def test_the_default_dtype_is_float32_on_a_cpu_and_bfloat16_on_cuda():
    assert default_dtype("auto", torch.device("cpu")) == "float32"
    assert default_dtype("auto", torch.device("cuda", 1)) == "bfloat16"
    assert default_dtype("float32", torch.device("cuda")) == "float32"  # an explicit choice is kept


@pytest.mark.skipif(cpu_isa.detect().vector == "DEFAULT", reason="auto is int8 only with AVX2 or AVX-512")
def test_auto_on_a_cpu_is_int8_with_a_compiled_step_and_float16_codec_convolutions_only_where_native():
    p = choose_precision(quantization="auto", dtype="bfloat16", codec_dtype="bfloat16")
    isa = cpu_isa.detect()
    codec = "float16" if isa.avx512_fp16 else "float32"
    assert (p.talker, p.code_predictor, p.codec, p.activations, p.compile_step) == (
        "int8", "int8", codec, "float32", True)
    # prompt copies: bf16 where bf16 is native, float32 on AVX2 (where widening int8 costs most), none otherwise
    assert p.prompt_copies == (isa.native_bf16 or isa.vector == "AVX2")
    assert p.machine  # the instruction sets it was chosen for are named


def test_avx512_extensions_count_only_while_torch_dispatches_avx512():
    sapphire_rapids = {"avx2", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_int8"}
    wide = cpu_isa.from_flags("AVX512", sapphire_rapids)
    assert (wide.native_bf16, wide.avx512_fp16, wide.amx_int8, wide.vnni) == (True, True, True, True)
    capped = cpu_isa.from_flags("AVX2", sapphire_rapids)  # ATEN_CPU_CAPABILITY=avx2 on the same machine
    assert (capped.native_bf16, capped.avx512_fp16, capped.amx_int8, capped.vnni) == (False, False, False, False)
    assert capped.describe() == "AVX2"
    assert cpu_isa.from_flags("AVX2", {"avx2", "avx_vnni"}).vnni  # AVX-VNNI is a 256-bit extension


def test_aten_cpu_capability_avx2_gives_the_avx2_choice():
    """The switch the AVX2 benchmarks use (docs/benchmarks.md): a fresh process capped at AVX2 sees no AVX-512
    extension, and `auto` there is int8 over packed 32-bit words (the AVX2 GEMV) with a float32 codec."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("not an x86 CPU with AVX2")
    code = ("import torch; from torch import nn; from tts.engine.precision import choose_precision; "
            "from tts.model import gemv; from tts.model.quantized import Int8Linear; "
            "p = choose_precision(quantization='auto'); "
            "packed = Int8Linear.from_linear(nn.Linear(64, 8), torch.float32).packed is not None; "
            "print(p.machine, p.talker, p.code_predictor, p.codec, p.compile_step, p.prompt_copies, packed, "
            "gemv.GEMV_ACCUMULATORS, sep='|')")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    machine, *choice = out.strip().split("|")
    assert machine.split(" + ")[0] == "AVX2" and "AVX512" not in machine and "AMX" not in machine
    assert choice == ["int8", "int8", "float32", "True", "True", "True", "4"]  # float32 prompt copies


def test_unknown_modes_are_refused():
    with pytest.raises(CheckpointError, match="quantization"):
        choose_precision(quantization="int4")
    with pytest.raises(CheckpointError, match="dtype"):
        choose_precision(dtype="float8")


def test_per_channel_int8_reconstructs_each_weight_within_half_a_step():
    w = torch.randn(96, 64) * torch.logspace(-3, 1, 96)[:, None]  # rows of very different magnitudes
    q, scale = quantize_per_channel(w)
    assert q.dtype == torch.int8 and q.abs().max() <= 127
    assert torch.all((q.float() * scale[:, None] - w).abs() <= scale[:, None] / 2 + 1e-7)


def test_int8_linear_matches_its_dequantized_float_linear():
    lin = nn.Linear(64, 48, bias=True)
    q = Int8Linear.from_linear(lin, torch.float32)
    w = q.weight.float() * q.scale[:, None]
    x = torch.randn(3, 1, 64)  # decode rows: widened to the activation dtype
    torch.testing.assert_close(q(x), x @ w.t() + lin.bias, rtol=1e-5, atol=1e-5)
    x = torch.randn(1, 9, 64)  # a prompt chunk: a bf16 GEMM where the CPU has native bf16 (activations round)
    torch.testing.assert_close(q(x), x @ w.t() + lin.bias, rtol=2e-2, atol=2e-2)


def test_a_kept_prompt_copy_gives_a_prompt_the_same_bits_as_widening_each_time():
    q = Int8Linear.from_linear(nn.Linear(64, 48, bias=True), torch.float32)
    x = torch.randn(1, 9, 64)
    widened = q(x)
    copy_dtype = torch.bfloat16 if cpu_isa.detect().native_bf16 else torch.float32  # the prompt GEMM's dtype
    assert q.keep_prompt_copy(torch.float32).dtype == copy_dtype and q.prompt_weight.dtype == copy_dtype
    assert torch.equal(q(x), widened)
    assert "prompt_weight" not in q.state_dict()  # made at load, never saved


def test_packed_words_hold_every_int8_value_in_its_place():
    q = torch.arange(-128, 128, dtype=torch.int8).roll(7).view(4, 64)  # every value, at every byte position
    packed = pack_words(q)
    assert packed.dtype == torch.float32 and packed.shape == (4, 16)
    assert torch.equal(torch.cat([w.to(torch.int8) for w in unpack_words(packed)], dim=1), q)
    with pytest.raises(ValueError, match="divisible by 4"):
        pack_words(q[:, :63])
    lin = Int8Linear.from_linear(nn.Linear(66, 8), torch.float32)
    assert not lin.use_words() and lin.packed is None  # an input size the words cannot tile: the plain GEMV
    lin = Int8Linear.from_linear(nn.Linear(64, 8), torch.float32)
    assert lin.use_words() and "packed" not in lin.state_dict()
    assert not lin.use_words(False) and lin.packed is None


@pytest.mark.parametrize("packed", [False, True], ids=["int8", "words"])
def test_the_compiled_int8_gemv_gives_a_row_the_same_bits_alone_and_among_four(packed):
    """One row's outputs are summed in more channel blocks (accumulators) than four rows': the same bits, with
    int8 loads (AVX-512) and with the packed words (AVX2), whichever this machine would choose."""
    from tts.engine.runner import REGION_OPTIONS

    lin = Int8Linear.from_linear(nn.Linear(256, 96, bias=True), torch.float32)
    assert lin.use_words(packed) == packed
    compiled = torch.compile(lin, fullgraph=True, options=REGION_OPTIONS)
    x = torch.randn(4, 1, 256)
    with torch.inference_mode():
        alone, among_four = compiled(x[:1]), compiled(x)
    assert torch.equal(alone[0], among_four[0])
    torch.testing.assert_close(among_four, lin(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rows,tokens,packed", [(1, 1, False), (4, 1, False), (1, 1, True), (4, 1, True),
                                                (2, 9, False)])
def test_fused_projections_give_each_output_the_bits_of_its_own_layer(rows, tokens, packed):
    """q, k, v (and gate, up) as one int8 product: compiled decode rows (the GEMV over int8 or over packed
    words) and prompt chunks (eager, a bf16 GEMM where the CPU has native bf16) give every output the bits its
    own layer gave."""
    from tts.engine.runner import REGION_OPTIONS

    dims = DecoderDims(hidden_size=64, intermediate_size=96, num_layers=1, num_heads=4, num_kv_heads=2,
                       head_dim=16, rms_norm_eps=1e-6, rope_theta=1e6)
    layer = DecoderLayer(dims)
    quantize_linears(layer, torch.float32)
    for m in layer.modules():
        if isinstance(m, Int8Linear):
            m.use_words(packed)
    x = torch.randn(rows, tokens, dims.hidden_size)

    def products(x):
        return (*layer.self_attn.project(x), layer.mlp(x))

    run = torch.compile(products, fullgraph=True, options=REGION_OPTIONS) if tokens == 1 else products
    with torch.inference_mode():
        separate = run(x)
        assert fuse_projections(layer) == 2 and layer.self_attn.q_proj is None and layer.mlp.up_proj is None
        assert (layer.self_attn.qkv_proj.packed is not None) == packed  # the fused layer keeps its parts' kernel
        fused = run(x)
    exact = tokens == 1 or cpu_isa.detect().native_bf16  # MKL's float32 GEMM may round a column by its width
    for a, b in zip(separate, fused, strict=True):
        if exact:
            assert torch.equal(a, b)
        else:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_mode_loads_and_speaks(make_ckpt, preset):
    ckpt = make_ckpt(preset)
    for dtype, quantization in MODES:
        engine = load_engine(str(ckpt), dtype=dtype, quantization=quantization, slots=2, max_context=128)
        p = engine.precision
        talker = engine.model.talker
        int8 = [m for m in talker.modules() if isinstance(m, Int8Linear)]
        if p.talker == "int8":
            assert isinstance(talker.codec_head, Int8Linear) and isinstance(talker.code_predictor.lm_head[0], Int8Linear)
            assert not isinstance(talker.text_projection.linear_fc1, Int8Linear)  # prompt-only, kept in float
        else:
            assert not int8
        assert engine.model.dtype == p.activation_dtype
        assert engine.runner.compiled == p.compile_step
        if p.compile_step:
            continue  # a compiled step is exercised by the slow tests (a cold compile takes minutes)
        caps = engine.capabilities
        voice = caps.speakers[0] if caps.speakers else ""
        if engine.voices is not None:
            tone = 0.3 * np.sin(2 * np.pi * 180 * np.arange(24000) / 24000).astype(np.float32)
            voice = engine.voices.register("probe", (tone, 24000), x_vector_only=True, persist=False).name
        result = engine.synthesize(SynthesisRequest(
            text="Hello there.", voice=voice, sampling=GREEDY, max_audio_duration_ms=3 * caps.frame_ms,
            instructions="A calm voice." if caps.model_type == "voice_design" else ""))
        assert 1 <= len(result.codes) <= 3 and np.isfinite(result.pcm).all()


@pytest.mark.parametrize("dtype,quantization", [("float32", "int8"), ("bfloat16", "none"), ("bfloat16", "int8")])
def test_within_a_mode_a_request_alone_equals_itself_in_a_batch(tiny_17b_ckpt, dtype, quantization):
    engine = load_engine(str(tiny_17b_ckpt), dtype=dtype, quantization=quantization, slots=4, max_context=192,
                         prefill_chunk=16, prefill_budget=32)
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # fixed lengths
    reqs = [SynthesisRequest(text="Hello world, this is a test.", voice="ryan", language="english",
                             sampling=GREEDY, max_audio_duration_ms=40 * 80),
            SynthesisRequest(text="今天天气很好。", voice="vivian", language="chinese", seed=3,
                             max_audio_duration_ms=30 * 80),
            SynthesisRequest(text="Another one joins.", voice="eric", seed=4, max_audio_duration_ms=20 * 80)]
    alone = [engine.synthesize(r) for r in reqs]
    seqs = {engine.submit(r).seq_id: i for i, r in enumerate(reqs)}
    codes, pcm = {i: [] for i in seqs.values()}, {i: [] for i in seqs.values()}
    while engine.has_work:
        for ev in engine.step():
            codes[seqs[ev.seq_id]].append(ev.codes)
            pcm[seqs[ev.seq_id]].append(ev.pcm)
    for i, ref in enumerate(alone):
        np.testing.assert_array_equal(np.stack(codes[i]), ref.codes, err_msg=f"request {i} codes differ")
        np.testing.assert_array_equal(np.concatenate(pcm[i]), ref.pcm, err_msg=f"request {i} samples differ")


@pytest.mark.skipif(not HAS_FP16, reason="float16 convolutions are only offered on CPUs with AVX512-FP16")
def test_float16_codec_convolutions_stream_exactly_like_their_offline_decode(tiny_ckpt):
    engine = load_engine(str(tiny_ckpt), codec_dtype="float16", slots=1, max_context=128)
    codec = engine.runner.codec
    assert engine.precision.codec == "float16" and codec.dtype == torch.float32
    gemm = [isinstance(m, CausalTransConv1d) or m.gemm for m in codec.modules()
            if isinstance(m, (CausalConv1d, CausalTransConv1d))]
    dtypes = [m.conv.weight.dtype for m in codec.modules() if isinstance(m, (CausalConv1d, CausalTransConv1d))]
    assert any(gemm) and not all(gemm)  # the tiny codec has both kinds
    assert dtypes == [torch.float16 if g else torch.float32 for g in gemm]  # only the GEMM ones narrowed
    codes = torch.randint(0, codec.config.codebook_size, (12, codec.config.num_quantizers))
    state = codec.new_state(1)
    streamed = torch.cat([codec.step(codes[None, t:t + 1], state)[0] for t in range(len(codes))])
    assert torch.equal(streamed, codec.decode(codes))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_compiled_int8_step_gives_a_request_the_same_bits_alone_and_in_a_batch(tiny_17b_ckpt):
    """The compiled int8 GEMV (tts/model/quantized.py) reduces each row in the same order for every row bucket,
    1 row included (a lone stream steps alone, ModelRunner.min_rows)."""
    engine = load_engine(str(tiny_17b_ckpt), quantization="int8", slots=4, max_context=192)
    engine.runner.compile()
    assert [engine.runner.decode_rows(s) for s in range(4)] == [1, 2, 4, 4]
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True
    reqs = [SynthesisRequest(text="Hello world, this is a test.", voice="ryan", language="english",
                             sampling=GREEDY, max_audio_duration_ms=20 * 80),
            SynthesisRequest(text="今天天气很好。", voice="vivian", language="chinese", seed=3,
                             max_audio_duration_ms=20 * 80),
            SynthesisRequest(text="Another one joins.", voice="eric", seed=4, max_audio_duration_ms=20 * 80)]
    alone = [engine.synthesize(r) for r in reqs]  # 1-row bucket
    seqs = {engine.submit(r).seq_id: i for i, r in enumerate(reqs)}  # 4-row bucket
    codes, pcm = {i: [] for i in seqs.values()}, {i: [] for i in seqs.values()}
    while engine.has_work:
        for ev in engine.step():
            codes[seqs[ev.seq_id]].append(ev.codes)
            pcm[seqs[ev.seq_id]].append(ev.pcm)
    for i, ref in enumerate(alone):
        np.testing.assert_array_equal(np.stack(codes[i]), ref.codes, err_msg=f"request {i} codes differ")
        # each stream's codec ran alone (CPU), its few-row products through the compiled GEMV
        np.testing.assert_array_equal(np.concatenate(pcm[i]), ref.pcm, err_msg=f"request {i} samples differ")
    assert any(m.product is not None for m in engine.runner.codec.modules() if isinstance(m, CausalTransConv1d))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_warm_up_compiles_every_row_bucket_so_a_burst_compiles_nothing(tiny_17b_ckpt):
    """A bucket compiled while serving stalls every stream for minutes (cold, 2 cores) and outlasts the
    server's stall timeout: the worker's warm-up runs a burst per bucket before it reports ready."""
    from torch._dynamo.utils import counters

    engine = load_engine(str(tiny_17b_ckpt), quantization="int8", slots=4, max_context=192)
    engine.runner.compile()
    warm_up(engine)
    compiled = counters["stats"]["unique_graphs"]
    # The warm-up's prompt: a new prompt length may still specialise a prefill graph once (dynamo then makes
    # it dynamic), a cost of the first long prompt, not of concurrency.
    voice = engine.capabilities.speakers[0]
    seqs = [engine.submit(SynthesisRequest(text="Warm-up.", voice=voice, seed=i, max_audio_duration_ms=4 * 80))
            for i in range(4)]
    highest = 0
    while engine.has_work:
        engine.step()
        highest = max([highest] + [s.slot for s in seqs if s.slot is not None])
    assert engine.runner.decode_rows(highest) == 4
    assert counters["stats"]["unique_graphs"] == compiled


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_auto_passes_the_quality_gate_on_the_real_dimensions(tmp_path_factory):
    """Per-layer cosine >= 0.999 and codec SNR >= 40 dB against float32 (tools/quality_gate.py, 50 frames here;
    `make quality-gate` runs 200)."""
    from pathlib import Path

    from tools.make_checkpoint import make_checkpoint
    from tools.quality_gate import DEFAULT_CKPT, gate

    ckpt = DEFAULT_CKPT if (DEFAULT_CKPT / "speech_tokenizer" / "model.safetensors").is_file() else None
    if ckpt is None:
        ckpt = Path(tmp_path_factory.mktemp("real-0.6b-cv"))
        make_checkpoint("real-0.6b-cv", ckpt, seed=0)
    result = gate("auto", ckpt, frames=50)
    assert result["min_cosine"] >= 0.999, result["cosine_per_layer"]
    assert result["codec_snr_db"] >= 40.0
