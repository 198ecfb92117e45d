"""Typed, validated view of a Qwen3-TTS 12 Hz checkpoint's configuration.

Every constant the engine needs (sizes, special ids, speakers, languages, sampling defaults, codec shapes) is read
here once from `config.json`, `generation_config.json` and `speech_tokenizer/config.json`, checked, and passed
around as frozen dataclasses. The Python defaults of the official config classes do not match the released
checkpoints, so nothing here has a default that could silently stand in for a missing key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.capabilities import MODEL_TYPES, Capabilities


class ConfigError(ValueError):
    """The checkpoint's configuration is missing, malformed, or not a Qwen3-TTS 12 Hz checkpoint."""


def _need(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(f"{where}: missing key {key!r}")
    return d[key]


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"missing file {path}")
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


@dataclass(frozen=True)
class DecoderDims:
    """A Qwen3-style decoder stack (talker, code predictor)."""

    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float

    @classmethod
    def parse(cls, d: dict, where: str) -> DecoderDims:
        dims = cls(
            hidden_size=int(_need(d, "hidden_size", where)),
            intermediate_size=int(_need(d, "intermediate_size", where)),
            num_layers=int(_need(d, "num_hidden_layers", where)),
            num_heads=int(_need(d, "num_attention_heads", where)),
            num_kv_heads=int(_need(d, "num_key_value_heads", where)),
            head_dim=int(d.get("head_dim") or _need(d, "hidden_size", where) // _need(d, "num_attention_heads", where)),
            rms_norm_eps=float(_need(d, "rms_norm_eps", where)),
            rope_theta=float(_need(d, "rope_theta", where)),
        )
        if dims.num_heads % dims.num_kv_heads:
            raise ConfigError(f"{where}: num_attention_heads must be a multiple of num_key_value_heads")
        if dims.head_dim % 2:
            raise ConfigError(f"{where}: head_dim must be even for rotary embeddings")
        return dims


@dataclass(frozen=True)
class TalkerConfig:
    dims: DecoderDims
    vocab_size: int  # codec vocabulary of the talker (3072): codebook-0 codes + specials + speakers
    text_vocab_size: int
    text_hidden_size: int
    num_code_groups: int
    max_position_embeddings: int
    codec_pad_id: int
    codec_bos_id: int
    codec_eos_id: int
    codec_think_id: int
    codec_nothink_id: int
    codec_think_bos_id: int
    codec_think_eos_id: int
    speakers: dict[str, int]  # lower-case name -> codec id
    speaker_dialects: dict[str, str | None]  # lower-case name -> dialect language key or None
    language_ids: dict[str, int]  # lower-case language (incl. dialects) -> codec id


@dataclass(frozen=True)
class CodePredictorConfig:
    dims: DecoderDims
    vocab_size: int  # per-codebook size (2048)
    num_code_groups: int


@dataclass(frozen=True)
class SpeakerEncoderConfig:
    enc_dim: int
    sample_rate: int
    mel_dim: int
    enc_channels: tuple[int, ...]
    enc_kernel_sizes: tuple[int, ...]
    enc_dilations: tuple[int, ...]
    enc_attention_channels: int
    enc_res2net_scale: int
    enc_se_channels: int

    @classmethod
    def parse(cls, sc: dict, where: str) -> SpeakerEncoderConfig:
        # The released files write only enc_dim and sample_rate; the rest are the official class's defaults.
        cfg = cls(
            enc_dim=int(sc.get("enc_dim", 1024)),
            sample_rate=int(sc.get("sample_rate", 24000)),
            mel_dim=int(sc.get("mel_dim", 128)),
            enc_channels=tuple(int(c) for c in sc.get("enc_channels", (512, 512, 512, 512, 1536))),
            enc_kernel_sizes=tuple(int(k) for k in sc.get("enc_kernel_sizes", (5, 3, 3, 3, 1))),
            enc_dilations=tuple(int(d) for d in sc.get("enc_dilations", (1, 2, 3, 4, 1))),
            enc_attention_channels=int(sc.get("enc_attention_channels", 128)),
            enc_res2net_scale=int(sc.get("enc_res2net_scale", 8)),
            enc_se_channels=int(sc.get("enc_se_channels", 128)),
        )
        # What the official extraction path hard-codes, and what its module tree can be built from.
        if cfg.mel_dim != 128 or cfg.sample_rate != 24000:
            raise ConfigError(f"{where}: mel_dim must be 128 and sample_rate 24000 (fixed by the official code)")
        ch = cfg.enc_channels
        if not (len(ch) == len(cfg.enc_kernel_sizes) == len(cfg.enc_dilations) == 5):
            raise ConfigError(f"{where}: enc_channels, enc_kernel_sizes and enc_dilations need 5 entries each")
        if not (ch[0] == ch[1] == ch[2] == ch[3] and ch[4] == 3 * ch[0] and ch[0] % cfg.enc_res2net_scale == 0):
            raise ConfigError(
                f"{where}: enc_channels must be [c, c, c, c, 3c] with c divisible by enc_res2net_scale, got {list(ch)}"
            )
        return cfg


@dataclass(frozen=True)
class GenerationDefaults:
    """`generation_config.json`: what a request gets when it does not say otherwise."""

    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    repetition_penalty: float
    subtalker_do_sample: bool
    subtalker_temperature: float
    subtalker_top_k: int
    subtalker_top_p: float
    max_new_tokens: int

    @classmethod
    def parse(cls, d: dict) -> GenerationDefaults:
        # The official wrapper falls back to these hard defaults for keys the file lacks.
        return cls(
            do_sample=bool(d.get("do_sample", True)),
            temperature=float(d.get("temperature", 0.9)),
            top_k=int(d.get("top_k", 50)),
            top_p=float(d.get("top_p", 1.0)),
            repetition_penalty=float(d.get("repetition_penalty", 1.05)),
            subtalker_do_sample=bool(d.get("subtalker_dosample", True)),
            subtalker_temperature=float(d.get("subtalker_temperature", 0.9)),
            subtalker_top_k=int(d.get("subtalker_top_k", 50)),
            subtalker_top_p=float(d.get("subtalker_top_p", 1.0)),
            max_new_tokens=int(d.get("max_new_tokens", 2048)),
        )


@dataclass(frozen=True)
class CodecConfig:
    """`speech_tokenizer/config.json`: the 12 Hz codec (decoder shapes; the Mimi encoder config kept raw)."""

    sample_rate: int
    samples_per_frame: int  # 1920 at 24 kHz = 80 ms
    num_quantizers: int
    codebook_size: int
    codebook_dim: int  # per-codebook vector size is codebook_dim // 2
    latent_dim: int
    decoder_dim: int
    upsample_rates: tuple[int, ...]  # the four decoder blocks
    upsampling_ratios: tuple[int, ...]  # the two ConvNeXt upsamplers after the transformer
    transformer: DecoderDims
    sliding_window: int
    encoder_valid_num_quantizers: int
    encoder_config: dict

    @classmethod
    def parse(cls, d: dict, where: str) -> CodecConfig:
        if d.get("model_type") != "qwen3_tts_tokenizer_12hz":
            raise ConfigError(f"{where}: model_type is {d.get('model_type')!r}, expected 'qwen3_tts_tokenizer_12hz'")
        dec = _need(d, "decoder_config", where)
        w = f"{where} decoder_config"
        cfg = cls(
            sample_rate=int(_need(d, "output_sample_rate", where)),
            samples_per_frame=int(_need(d, "decode_upsample_rate", where)),
            num_quantizers=int(_need(dec, "num_quantizers", w)),
            codebook_size=int(_need(dec, "codebook_size", w)),
            codebook_dim=int(_need(dec, "codebook_dim", w)),
            latent_dim=int(_need(dec, "latent_dim", w)),
            decoder_dim=int(_need(dec, "decoder_dim", w)),
            upsample_rates=tuple(int(r) for r in _need(dec, "upsample_rates", w)),
            upsampling_ratios=tuple(int(r) for r in _need(dec, "upsampling_ratios", w)),
            transformer=DecoderDims.parse(dec, w),
            sliding_window=int(_need(dec, "sliding_window", w)),
            encoder_valid_num_quantizers=int(d.get("encoder_valid_num_quantizers", dec["num_quantizers"])),
            encoder_config=dict(d.get("encoder_config") or {}),
        )
        total = 1
        for r in cfg.upsample_rates + cfg.upsampling_ratios:
            total *= r
        if total != cfg.samples_per_frame:
            raise ConfigError(
                f"{w}: upsampling product {total} does not equal decode_upsample_rate {cfg.samples_per_frame}"
            )
        if cfg.decoder_dim % (2 ** len(cfg.upsample_rates)):
            raise ConfigError(f"{w}: decoder_dim must halve cleanly through {len(cfg.upsample_rates)} blocks")
        return cfg


@dataclass(frozen=True)
class ModelConfig:
    model_type: str  # custom_voice | voice_design | base
    model_size: str  # "0b6" | "1b7"
    transformers_version: str | None
    im_start_id: int
    im_end_id: int
    tts_pad_id: int
    tts_bos_id: int
    tts_eos_id: int
    talker: TalkerConfig
    code_predictor: CodePredictorConfig
    speaker_encoder: SpeakerEncoderConfig | None
    generation: GenerationDefaults
    codec: CodecConfig

    @property
    def languages(self) -> list[str]:
        """Languages a request may name: `auto` plus the checkpoint's non-dialect language ids."""
        return ["auto"] + [k for k in self.talker.language_ids if "dialect" not in k]

    @property
    def speakers(self) -> list[str]:
        return list(self.talker.speakers)

    @property
    def accepts_instructions(self) -> bool:
        # The official wrapper drops `instruct` for 0.6B CustomVoice with a substring test on the size string;
        # we reject it instead of ignoring it silently (see prompt validation), using the same test.
        if self.model_type == "custom_voice":
            return self.model_size not in "0b6"
        return self.model_type == "voice_design"

    def capabilities(self, model: str) -> Capabilities:
        """What a request may ask of this checkpoint (server limits at their defaults)."""
        return Capabilities(model=model, model_type=self.model_type, model_size=self.model_size,
                            speakers=tuple(self.speakers), languages=tuple(self.languages),
                            accepts_instructions=self.accepts_instructions, sample_rate=self.codec.sample_rate,
                            samples_per_frame=self.codec.samples_per_frame)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelConfig:
        root = Path(model_dir)
        cfg = _read_json(root / "config.json")
        where = str(root / "config.json")
        if cfg.get("model_type") != "qwen3_tts":
            raise ConfigError(f"{where}: model_type is {cfg.get('model_type')!r}, expected 'qwen3_tts'")
        if cfg.get("tokenizer_type") != "qwen3_tts_tokenizer_12hz":
            raise ConfigError(
                f"{where}: tokenizer_type is {cfg.get('tokenizer_type')!r}; only the 12 Hz Qwen3-TTS models "
                "(tokenizer_type 'qwen3_tts_tokenizer_12hz') are supported"
            )
        model_type = _need(cfg, "tts_model_type", where)
        if model_type not in MODEL_TYPES:
            raise ConfigError(f"{where}: tts_model_type {model_type!r} is not one of {MODEL_TYPES}")
        tc = _need(cfg, "talker_config", where)
        tw = f"{where} talker_config"
        cpc = _need(tc, "code_predictor_config", tw)
        cw = f"{tw}.code_predictor_config"
        talker_dims = DecoderDims.parse(tc, tw)
        rope = tc.get("rope_scaling") or {}
        if rope and rope.get("mrope_section") is not None:
            # Three identical position streams make interleaved MRoPE plain 1-D RoPE, but only if the sections
            # cover the whole rotary half.
            if sum(rope["mrope_section"]) != talker_dims.head_dim // 2:
                raise ConfigError(f"{tw}: sum(rope_scaling.mrope_section) must equal head_dim / 2")
        speakers = {str(k).lower(): int(v) for k, v in (_need(tc, "spk_id", tw) or {}).items()}
        dialects_raw = tc.get("spk_is_dialect") or {}
        dialects = {str(k).lower(): (v if isinstance(v, str) and v else None) for k, v in dialects_raw.items()}
        languages = {str(k).lower(): int(v) for k, v in (_need(tc, "codec_language_id", tw) or {}).items()}
        for spk, dialect in dialects.items():
            if dialect is not None and dialect not in languages:
                raise ConfigError(f"{tw}: speaker {spk!r} names dialect {dialect!r} that has no language id")
        talker = TalkerConfig(
            dims=talker_dims,
            vocab_size=int(_need(tc, "vocab_size", tw)),
            text_vocab_size=int(_need(tc, "text_vocab_size", tw)),
            text_hidden_size=int(_need(tc, "text_hidden_size", tw)),
            num_code_groups=int(_need(tc, "num_code_groups", tw)),
            max_position_embeddings=int(_need(tc, "max_position_embeddings", tw)),
            codec_pad_id=int(_need(tc, "codec_pad_id", tw)),
            codec_bos_id=int(_need(tc, "codec_bos_id", tw)),
            codec_eos_id=int(_need(tc, "codec_eos_token_id", tw)),
            codec_think_id=int(_need(tc, "codec_think_id", tw)),
            codec_nothink_id=int(_need(tc, "codec_nothink_id", tw)),
            codec_think_bos_id=int(_need(tc, "codec_think_bos_id", tw)),
            codec_think_eos_id=int(_need(tc, "codec_think_eos_id", tw)),
            speakers=speakers,
            speaker_dialects={k: dialects.get(k) for k in speakers},
            language_ids=languages,
        )
        code_predictor = CodePredictorConfig(
            dims=DecoderDims.parse(cpc, cw),
            vocab_size=int(_need(cpc, "vocab_size", cw)),
            num_code_groups=int(_need(cpc, "num_code_groups", cw)),
        )
        speaker_encoder = None
        if model_type == "base":
            where_se = f"{where} speaker_encoder_config"
            speaker_encoder = SpeakerEncoderConfig.parse(_need(cfg, "speaker_encoder_config", where), where_se)
        gen_path = root / "generation_config.json"
        generation = GenerationDefaults.parse(_read_json(gen_path))
        codec_path = root / "speech_tokenizer" / "config.json"
        codec = CodecConfig.parse(_read_json(codec_path), str(codec_path))
        out = cls(
            model_type=model_type,
            model_size=str(_need(cfg, "tts_model_size", where)),
            transformers_version=cfg.get("transformers_version"),
            im_start_id=int(_need(cfg, "im_start_token_id", where)),
            im_end_id=int(_need(cfg, "im_end_token_id", where)),
            tts_pad_id=int(_need(cfg, "tts_pad_token_id", where)),
            tts_bos_id=int(_need(cfg, "tts_bos_token_id", where)),
            tts_eos_id=int(_need(cfg, "tts_eos_token_id", where)),
            talker=talker,
            code_predictor=code_predictor,
            speaker_encoder=speaker_encoder,
            generation=generation,
            codec=codec,
        )
        out._check_consistency(where)
        return out

    def _check_consistency(self, where: str) -> None:
        t, cp, codec = self.talker, self.code_predictor, self.codec
        if not (t.num_code_groups == cp.num_code_groups == codec.num_quantizers):
            raise ConfigError(
                f"{where}: talker num_code_groups ({t.num_code_groups}), code predictor num_code_groups "
                f"({cp.num_code_groups}) and codec num_quantizers ({codec.num_quantizers}) must be equal"
            )
        if cp.vocab_size != codec.codebook_size:
            raise ConfigError(f"{where}: code predictor vocab_size must equal the codec codebook_size")
        if t.vocab_size < cp.vocab_size + 1024 or t.codec_eos_id < t.vocab_size - 1024:
            raise ConfigError(f"{where}: talker vocab_size/codec ids do not follow the 12 Hz layout")
        specials = [t.codec_pad_id, t.codec_bos_id, t.codec_eos_id, t.codec_think_id, t.codec_nothink_id,
                    t.codec_think_bos_id, t.codec_think_eos_id, *t.speakers.values(), *t.language_ids.values()]
        bad = [i for i in specials if not 0 <= i < t.vocab_size]
        if bad:
            raise ConfigError(f"{where}: codec ids {bad} are outside the talker vocabulary ({t.vocab_size})")
        text_ids = [self.im_start_id, self.im_end_id, self.tts_pad_id, self.tts_bos_id,
                    self.tts_eos_id]
        bad = [i for i in text_ids if not 0 <= i < t.text_vocab_size]
        if bad:
            raise ConfigError(f"{where}: text ids {bad} are outside text_vocab_size ({t.text_vocab_size})")
        if self.speaker_encoder is not None and self.speaker_encoder.enc_dim != t.dims.hidden_size:
            raise ConfigError(f"{where}: speaker_encoder_config.enc_dim must equal the talker hidden_size")
