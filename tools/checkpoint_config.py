"""The JSON files of a checkpoint (everything except weights and the text tokenizer), built from a preset.

The files mirror the released checkpoints key for key, with the preset's sizes substituted, because the
official config classes and our own parser both read them, and a missing legacy key is exactly the kind of
difference that would hide a loader bug. Values the released files share across all models (special ids,
speaker and language tables, generation defaults) are reproduced here.
"""

from __future__ import annotations

from typing import Any

from tools.presets import (
    REAL_SPEAKER_ENCODER,
    SPEAKER_ENCODER_DILATIONS,
    SPEAKER_ENCODER_KERNEL_SIZES,
    SPEAKER_ENCODER_MEL_DIM,
    CodecDims,
    Preset,
)

# As in the released files; it also makes transformers apply the Mistral-regex patch to the text tokenizer.
TRANSFORMERS_VERSION = "4.57.3"
TEXT_VOCAB_SIZE = 151936
CODEC_VOCAB_SIZE = 3072
CODEBOOK_SIZE = 2048
NUM_CODE_GROUPS = 16
SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 1920
UPSAMPLE_RATES = (8, 5, 4, 3)
UPSAMPLING_RATIOS = (2, 2)
CODEC_SLIDING_WINDOW = 72

IM_START_ID = 151644
IM_END_ID = 151645
TTS_PAD_ID = 151671
TTS_BOS_ID = 151672
TTS_EOS_ID = 151673

CODEC_SPECIAL_IDS = {
    "codec_bos_id": 2149,
    "codec_eos_token_id": 2150,
    "codec_think_id": 2154,
    "codec_nothink_id": 2155,
    "codec_pad_id": 2148,
    "codec_think_bos_id": 2156,
    "codec_think_eos_id": 2157,
}

LANGUAGE_IDS = {
    "chinese": 2055,
    "english": 2050,
    "german": 2053,
    "italian": 2070,
    "portuguese": 2071,
    "spanish": 2054,
    "japanese": 2058,
    "korean": 2064,
    "french": 2061,
    "russian": 2069,
}
DIALECT_LANGUAGE_IDS = {"beijing_dialect": 2074, "sichuan_dialect": 2062}

SPEAKER_IDS = {
    "serena": 3066,
    "vivian": 3065,
    "uncle_fu": 3010,
    "ryan": 3061,
    "aiden": 2861,
    "ono_anna": 2873,
    "sohee": 2864,
    "eric": 2875,
    "dylan": 2878,
}
SPEAKER_DIALECTS: dict[str, str | bool] = {
    **{name: False for name in SPEAKER_IDS},
    "eric": "sichuan_dialect",
    "dylan": "beijing_dialect",
}

GENERATION_CONFIG = {
    "do_sample": True,
    "repetition_penalty": 1.05,
    "temperature": 0.9,
    "top_p": 1.0,
    "top_k": 50,
    "subtalker_dosample": True,
    "subtalker_temperature": 0.9,
    "subtalker_top_p": 1.0,
    "subtalker_top_k": 50,
    "max_new_tokens": 8192,
}

PREPROCESSOR_CONFIG = {
    "padding_side": "left",
    "padding_value": 0.0,
    "processor_class": "Qwen3TTSProcessor",
    "return_attention_mask": True,
}

CODEC_PREPROCESSOR_CONFIG = {
    "chunk_length_s": None,
    "feature_extractor_type": "EncodecFeatureExtractor",
    "feature_size": 1,
    "overlap": None,
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": True,
    "sampling_rate": SAMPLE_RATE,
}

# Serialised PretrainedConfig defaults that the released code_predictor_config carries (generation leftovers
# the official code overrides at call time). Kept so the file has the released key set.
_CODE_PREDICTOR_LEGACY = {
    "_name_or_path": "",
    "add_cross_attention": False,
    "architectures": None,
    "bad_words_ids": None,
    "begin_suppress_tokens": None,
    "bos_token_id": None,
    "chunk_size_feed_forward": 0,
    "cross_attention_hidden_size": None,
    "decoder_start_token_id": None,
    "diversity_penalty": 0.0,
    "do_sample": False,
    "early_stopping": False,
    "encoder_no_repeat_ngram_size": 0,
    "eos_token_id": None,
    "exponential_decay_length_penalty": None,
    "finetuning_task": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
    "is_decoder": False,
    "is_encoder_decoder": False,
    "label2id": {"LABEL_0": 0, "LABEL_1": 1},
    "length_penalty": 1.0,
    "max_length": 20,
    "min_length": 0,
    "no_repeat_ngram_size": 0,
    "num_beam_groups": 1,
    "num_beams": 1,
    "num_return_sequences": 1,
    "output_attentions": False,
    "output_hidden_states": False,
    "output_scores": False,
    "pad_token_id": None,
    "prefix": None,
    "problem_type": None,
    "pruned_heads": {},
    "remove_invalid_values": False,
    "repetition_penalty": 1.0,
    "return_dict": True,
    "return_dict_in_generate": False,
    "sep_token_id": None,
    "suppress_tokens": None,
    "task_specific_params": None,
    "temperature": 1.0,
    "tf_legacy_loss": False,
    "tie_encoder_decoder": False,
    "tokenizer_class": None,
    "top_k": 50,
    "top_p": 1.0,
    "dtype": None,
    "torchscript": False,
    "typical_p": 1.0,
    "use_bfloat16": False,
}


def _code_predictor_config(p: Preset) -> dict[str, Any]:
    cp = p.code_predictor
    cfg: dict[str, Any] = {
        **_CODE_PREDICTOR_LEGACY,
        "attention_bias": False,
        "attention_dropout": 0,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "layer_types": ["full_attention"] * cp.num_layers,
        "max_position_embeddings": 65536,
        "max_window_layers": 28,
        "model_type": "qwen3_tts_talker_code_predictor",
        "num_code_groups": NUM_CODE_GROUPS,
        "rms_norm_eps": cp.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": int(cp.rope_theta),
        "sliding_window": None,
        "tie_word_embeddings": False,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": CODEBOOK_SIZE,
        "head_dim": cp.head_dim,
        "hidden_size": cp.hidden_size,
        "intermediate_size": cp.intermediate_size,
        "num_attention_heads": cp.num_heads,
        "num_hidden_layers": cp.num_layers,
        "num_key_value_heads": cp.num_kv_heads,
    }
    return dict(sorted(cfg.items()))


def _talker_config(p: Preset) -> dict[str, Any]:
    if sum(p.mrope_section) * 2 != p.talker.head_dim:
        raise ValueError(f"{p.name}: mrope_section must sum to talker head_dim / 2")
    languages = dict(LANGUAGE_IDS)
    speakers: dict[str, int] = {}
    dialects: dict[str, str | bool] = {}
    if p.model_type == "custom_voice":
        languages.update(DIALECT_LANGUAGE_IDS)
        speakers, dialects = dict(SPEAKER_IDS), dict(SPEAKER_DIALECTS)
    return {
        "attention_bias": False,
        "attention_dropout": 0,
        "code_predictor_config": _code_predictor_config(p),
        "codec_bos_id": CODEC_SPECIAL_IDS["codec_bos_id"],
        "codec_eos_token_id": CODEC_SPECIAL_IDS["codec_eos_token_id"],
        "codec_think_id": CODEC_SPECIAL_IDS["codec_think_id"],
        "codec_language_id": languages,
        "codec_nothink_id": CODEC_SPECIAL_IDS["codec_nothink_id"],
        "codec_pad_id": CODEC_SPECIAL_IDS["codec_pad_id"],
        "codec_think_bos_id": CODEC_SPECIAL_IDS["codec_think_bos_id"],
        "codec_think_eos_id": CODEC_SPECIAL_IDS["codec_think_eos_id"],
        "spk_id": speakers,
        "spk_is_dialect": dialects,
        "head_dim": p.talker.head_dim,
        "hidden_act": "silu",
        "hidden_size": p.talker.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": p.talker.intermediate_size,
        "max_position_embeddings": 32768,
        "model_type": "qwen3_tts_talker",
        "num_attention_heads": p.talker.num_heads,
        "num_code_groups": NUM_CODE_GROUPS,
        "num_hidden_layers": p.talker.num_layers,
        "num_key_value_heads": p.talker.num_kv_heads,
        "position_id_per_seconds": 13,
        "rms_norm_eps": p.talker.rms_norm_eps,
        "rope_scaling": {
            "interleaved": True,
            "mrope_section": list(p.mrope_section),
            "rope_type": "default",
            "type": "default",
        },
        "rope_theta": int(p.talker.rope_theta),
        "sliding_window": None,
        "text_hidden_size": p.text_hidden_size,
        "text_vocab_size": TEXT_VOCAB_SIZE,
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": CODEC_VOCAB_SIZE,
    }


def speaker_encoder_config(p: Preset) -> dict[str, Any]:
    """Base only. The released files write just `enc_dim` and `sample_rate` and leave the rest to the official
    config class's defaults; a preset that shrinks the encoder also writes the arguments it changes. Only the
    class's own arguments appear: it takes no **kwargs."""
    se = p.speaker_encoder
    if se is None:
        raise ValueError(f"{p.name}: not a Base preset")
    cfg: dict[str, Any] = {"enc_dim": p.talker.hidden_size, "sample_rate": SAMPLE_RATE}
    if se != REAL_SPEAKER_ENCODER:
        cfg.update(
            mel_dim=SPEAKER_ENCODER_MEL_DIM,
            enc_channels=list(se.enc_channels),
            enc_kernel_sizes=list(SPEAKER_ENCODER_KERNEL_SIZES),
            enc_dilations=list(SPEAKER_ENCODER_DILATIONS),
            enc_attention_channels=se.attention_channels,
            enc_res2net_scale=se.res2net_scale,
            enc_se_channels=se.se_channels,
        )
    return cfg


def model_config(p: Preset, assistant_token_id: int) -> dict[str, Any]:
    """`config.json`. `assistant_token_id` is the id the checkpoint's own text tokenizer gives "assistant"."""
    if p.model_type not in ("custom_voice", "voice_design", "base"):
        raise ValueError(f"{p.name}: model type {p.model_type!r} is not supported by the maker")
    head: dict[str, Any] = {
        "architectures": ["Qwen3TTSForConditionalGeneration"],
        "assistant_token_id": assistant_token_id,
        "im_end_token_id": IM_END_ID,
        "im_start_token_id": IM_START_ID,
        "tts_bos_token_id": TTS_BOS_ID,
        "tts_eos_token_id": TTS_EOS_ID,
        "tts_pad_token_id": TTS_PAD_ID,
        "model_type": "qwen3_tts",
        "tokenizer_type": "qwen3_tts_tokenizer_12hz",
        "tts_model_size": p.model_size,
        "tts_model_type": p.model_type,
    }
    if p.model_type == "base":  # in the released files' key order: right after tts_model_type
        head["speaker_encoder_config"] = speaker_encoder_config(p)
    return {**head, "talker_config": _talker_config(p), "transformers_version": TRANSFORMERS_VERSION}


def _codec_decoder_config(c: CodecDims) -> dict[str, Any]:
    t = c.transformer
    if c.codebook_dim % 2 or c.decoder_dim % (2 ** len(UPSAMPLE_RATES)):
        raise ValueError("codec codebook_dim must be even and decoder_dim divisible by 16")
    return {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "latent_dim": c.latent_dim,
        "codebook_dim": c.codebook_dim,
        "codebook_size": CODEBOOK_SIZE,
        "decoder_dim": c.decoder_dim,
        "hidden_act": "silu",
        "hidden_size": t.hidden_size,
        "intermediate_size": t.intermediate_size,
        "layer_scale_initial_scale": 0.01,
        "max_position_embeddings": 8000,
        "head_dim": t.head_dim,
        "num_attention_heads": t.num_heads,
        "num_hidden_layers": t.num_layers,
        "num_key_value_heads": t.num_kv_heads,
        "num_quantizers": NUM_CODE_GROUPS,
        "num_semantic_quantizers": 1,
        "rms_norm_eps": t.rms_norm_eps,
        "rope_theta": int(t.rope_theta),
        "semantic_codebook_size": 4096,
        "sliding_window": CODEC_SLIDING_WINDOW,
        "upsample_rates": list(UPSAMPLE_RATES),
        "upsampling_ratios": list(UPSAMPLING_RATIOS),
        "vector_quantization_hidden_dimension": c.codebook_dim,
    }


def mimi_encoder_config(c: CodecDims) -> dict[str, Any]:
    """The codec's `encoder_config`: `MimiConfig` arguments, also used to build the encoder weight table."""
    e = c.encoder
    return {
        "_frame_rate": SAMPLE_RATE / SAMPLES_PER_FRAME,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "audio_channels": 1,
        "codebook_dim": e.codebook_dim,
        "codebook_size": CODEBOOK_SIZE,
        "compress": 2,
        "dilation_growth_rate": 2,
        "dtype": "float32",
        "head_dim": e.head_dim,
        "hidden_act": "gelu",
        "hidden_size": e.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": e.intermediate_size,
        "kernel_size": 7,
        "last_kernel_size": 3,
        "layer_scale_initial_scale": 0.01,
        "max_position_embeddings": 8000,
        "norm_eps": 1e-05,
        "normalize": False,
        "num_attention_heads": e.num_heads,
        "num_filters": e.num_filters,
        "num_hidden_layers": e.num_layers,
        "num_key_value_heads": e.num_heads,
        "num_quantizers": 32,
        "num_residual_layers": 1,
        "num_semantic_quantizers": 1,
        "pad_mode": "constant",
        "residual_kernel_size": 3,
        "rope_theta": 10000.0,
        "sampling_rate": SAMPLE_RATE,
        "sliding_window": 250,
        "transformers_version": "4.57.0.dev0",
        "trim_right_ratio": 1.0,
        "upsample_groups": e.hidden_size,
        "upsampling_ratios": [8, 6, 5, 4],
        "use_cache": False,
        "use_causal_conv": True,
        "use_conv_shortcut": False,
        "use_streaming": False,
        "vector_quantization_hidden_dimension": e.codebook_dim,
    }


def codec_config(p: Preset) -> dict[str, Any]:
    """`speech_tokenizer/config.json`."""
    return {
        "architectures": ["Qwen3TTSTokenizerV2Model"],
        "model_type": "qwen3_tts_tokenizer_12hz",
        "encoder_valid_num_quantizers": NUM_CODE_GROUPS,
        "input_sample_rate": SAMPLE_RATE,
        "output_sample_rate": SAMPLE_RATE,
        "decode_upsample_rate": SAMPLES_PER_FRAME,
        "encode_downsample_rate": SAMPLES_PER_FRAME,
        "decoder_config": _codec_decoder_config(p.codec),
        "encoder_config": mimi_encoder_config(p.codec),
        "transformers_version": TRANSFORMERS_VERSION,
    }
