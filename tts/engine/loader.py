"""Engine construction, apart from stepping: load a checkpoint, size the KV cache, build the engine, warm it up.

    engine = load_engine("Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice", slots=4)   # a local dir or a hub id
    warm_up(engine)                                                           # before serving
"""

from __future__ import annotations

import logging
import time
import uuid

import numpy as np
import torch

from contract.request import GREEDY, SynthesisRequest
from tts.checkpoint.loading import (
    ACOUSTIC_IGNORED,
    CheckpointLocation,
    load_config,
    load_weights,
    parse_device,
    resolve,
)
from tts.codec.decoder import CodecDecoder
from tts.engine.engine import Engine
from tts.engine.graphs import row_buckets
from tts.engine.memory import plan_cache
from tts.engine.precision import Precision, choose_precision
from tts.model.quantized import Int8Linear, fuse_projections, quantize_linears
from tts.model.qwen3_tts import Qwen3TTSModel
from tts.prompt.tokenizer import TextTokenizer
from tts.voices.registry import VoiceRegistry

log = logging.getLogger(__name__)


def load_engine(model: str | CheckpointLocation, *, device: str = "cpu", dtype: str = "auto",
                codec_dtype: str = "float32", quantization: str = "none", slots: int = 1,
                max_context: int | None = None, voice_store: str | None = None, model_name: str | None = None,
                **kwargs) -> Engine:
    """`model`: a checkpoint directory or hub id (or an already resolved location); `model_name`: how it is
    reported (capabilities, GetServiceInfo), the spelling the operator used by default. `quantization`:
    none | int8 | auto (tts/engine/precision.py; auto on a CPU also compiles the decode step, lazily: the
    first step pays for it). `dtype`: auto (float32 on a CPU, bfloat16 on CUDA), float32 or bfloat16. `kwargs` go to Engine."""
    t0 = time.perf_counter()
    dev = parse_device(device)
    precision = choose_precision(dtype=dtype, codec_dtype=codec_dtype, quantization=quantization, device=dev)
    talker_dtype = precision.activation_dtype
    where = model if isinstance(model, CheckpointLocation) else resolve(model)
    config = load_config(where.path)
    with torch.device("meta"):
        acoustic = Qwen3TTSModel(config)
    load_weights(acoustic, where.path / "model.safetensors", talker_dtype, dev, ignore=ACOUSTIC_IGNORED)
    acoustic.eval()
    quantize_components(acoustic, precision)
    codec = CodecDecoder.from_checkpoint(where.path / "speech_tokenizer", config.codec, dtype=precision.codec_dtype,
                                         device=dev)
    if precision.codec == "float16":
        codec.use_float16_convolutions()
    tokenizer = TextTokenizer.load(where.path, loaded_from_hub=where.loaded_from_hub)
    voices = None
    if config.model_type == "base":
        voices = VoiceRegistry.load(where.path, config, tokenizer, codec, voice_store, talker_dtype, dev)
    plan = plan_cache(config, talker_dtype, dev, slots, max_context)
    name = model_name or (model if isinstance(model, str) else str(where.path))
    engine = Engine(config, acoustic, codec, tokenizer, model_name=name, slots=slots, max_context=plan.max_context,
                    voices=voices, precision=precision, **kwargs)
    if precision.compile_step:
        engine.runner.compile()
    log.info("loaded %s (%s %s) in %.1fs: %s; %d slots x %d positions (%.0f MB KV)",
             where.path, config.model_type, config.model_size, time.perf_counter() - t0, precision.describe(),
             slots, plan.max_context, plan.kv_bytes / 1e6)
    return engine


def quantize_components(acoustic: Qwen3TTSModel, precision: Precision) -> None:
    """Store the linear weights of the talker and/or code predictor as int8, as `precision` says (from the
    float weights just loaded: no separate files). Embeddings, norms and the text projection (prompt only)
    stay in the activation dtype. With `prompt_copies` the talker's int8 layers also keep the widened copies its
    prompt chunks multiply with (the code predictor never runs a prompt chunk). Each layer's q, k, v and its
    gate, up become one int8 product (`fuse_projections`: the same bits, fewer loops)."""
    dtype, talker = precision.activation_dtype, acoustic.talker
    if precision.talker == "int8":
        quantize_linears(talker, dtype, skip=("code_predictor", "text_projection"))
        fuse_projections(talker.model)
        if precision.prompt_copies:
            layers = [m for name, m in talker.named_modules()
                      if isinstance(m, Int8Linear) and not name.startswith("code_predictor")]
            kept = [m.keep_prompt_copy(dtype) for m in layers]
            log.info("talker keeps %s copies of %d int8 weights for prompt chunks (%.0f MB)",
                     str(kept[0].dtype).removeprefix("torch."), len(kept),
                     sum(w.numel() * w.element_size() for w in kept) / 1e6)
    if precision.code_predictor == "int8":
        quantize_linears(talker.code_predictor, dtype)
        fuse_projections(talker.code_predictor)


def warm_up(engine: Engine) -> None:
    """One short utterance through prefill, decode and codec (first-call allocations, compilation); on a
    compiled engine also one burst per row bucket (2, 4, ... slots), so that no bucket compiles its graphs
    while serving: inductor takes minutes per bucket cold on 2 cores, and a step that long would stall every
    stream and outlast the server's stall timeout (60 s), which kills the worker as hung."""
    caps = engine.capabilities
    voice = caps.speakers[0] if caps.speakers else ""
    if engine.voices is not None:  # Base: a throw-away voice from a synthetic tone (also warms the encoders)
        tone = 0.3 * np.sin(2 * np.pi * 180 * np.arange(36000) / 24000).astype(np.float32)
        # A valid voice name ("_warmup" is refused by the name rule, so no Base worker could start) that no
        # stored voice can already have: in memory only, deleted right after.
        voice = engine.voices.register(f"warmup-{uuid.uuid4().hex}", (tone, 24000), x_vector_only=True,
                                       persist=False).name
    request = SynthesisRequest(
        text="Warm-up.", voice=voice, language="auto", sampling=GREEDY, max_audio_duration_ms=2 * caps.frame_ms,
        instructions="A neutral voice." if caps.model_type == "voice_design" else "")
    try:
        engine.synthesize(request)
        buckets = row_buckets(engine.slots) if engine.runner.compiled else []
        for rows in buckets:
            t0 = time.perf_counter()
            for _ in range(rows):
                engine.submit(request)
            while engine.has_work:
                engine.step()
            log.info("warmed the %d-row decode step in %.1f s", rows, time.perf_counter() - t0)
    finally:
        if engine.voices is not None:
            engine.voices.delete(voice)
