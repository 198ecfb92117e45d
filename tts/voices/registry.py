"""Voice registration for Base checkpoints: reference audio -> a reusable `VoicePrompt` in the store.

Register once (decode + check the reference, x-vector, reference codes, transcript ids, primed codec state),
then every request names the voice: nothing is re-uploaded or re-encoded per request.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from contract.outcome import FailureKind
from tts.checkpoint.config import ModelConfig
from tts.codec.decoder import CodecDecoder
from tts.prompt.tokenizer import TextTokenizer
from tts.voices.clone import VoiceEncoders
from tts.voices.reference_audio import ReferenceAudio, load_reference, reference_from_samples
from tts.voices.store import VoiceError, VoiceStore, check_name, model_fingerprint, now_iso
from tts.voices.voice import VoicePrompt

MAX_REF_TEXT_CHARS = 1000


class VoiceRegistry:
    def __init__(self, config: ModelConfig, tokenizer: TextTokenizer, encoders: VoiceEncoders, codec: CodecDecoder,
                 store: VoiceStore):
        self.config, self.tokenizer, self.encoders, self.codec, self.store = config, tokenizer, encoders, codec, store

    @classmethod
    def load(cls, model_dir: Path, config: ModelConfig, tokenizer: TextTokenizer, codec: CodecDecoder,
             store_dir: str | os.PathLike | None, dtype: torch.dtype, device) -> VoiceRegistry:
        encoders = VoiceEncoders.from_checkpoint(model_dir, config, dtype, device)
        store = VoiceStore(Path(store_dir) if store_dir else None, model_fingerprint(model_dir))
        return cls(config, tokenizer, encoders, codec, store)

    @classmethod
    def open(cls, model: str, store_dir: str | os.PathLike | None, *, device: str = "cpu") -> VoiceRegistry:
        """Just what registration needs (no talker): config, tokenizer, encoders, codec decoder (priming)."""
        from tts.checkpoint.loading import CheckpointError, load_config, parse_device, resolve

        where = resolve(model)
        config = load_config(where.path)
        if config.model_type != "base":
            raise CheckpointError(f"this {config.model_type} checkpoint cannot clone voices (use a Base checkpoint)")
        dev = parse_device(device)
        tokenizer = TextTokenizer.load(where.path, loaded_from_hub=where.loaded_from_hub)
        codec = CodecDecoder.from_checkpoint(where.path / "speech_tokenizer", config.codec, device=dev)
        return cls.load(where.path, config, tokenizer, codec, store_dir, torch.float32, dev)

    @torch.inference_mode()
    def register(self, name: str, audio: bytes | str | os.PathLike | tuple[np.ndarray, int], *,
                 ref_text: str | None = None, x_vector_only: bool = False, persist: bool = True,
                 description: str = "", languages: tuple[str, ...] = ()) -> VoicePrompt:
        """Raises VoiceError / ReferenceAudioError naming the field at fault."""
        check_name(name)
        if self.store.exists(name):
            raise VoiceError(f"a voice named {name!r} already exists; delete it first", field="name", kind=FailureKind.EXISTS)
        ref_ids = None if x_vector_only else self._reference_ids(ref_text)
        ref = self._reference(audio)
        features = self.encoders.extract(ref.samples, with_codes=not x_vector_only)
        prime = None if x_vector_only else self.codec.primed_state(features.ref_codes)
        voice = VoicePrompt(
            name=name, x_vector=features.x_vector.float().cpu(), ref_codes=features.ref_codes, ref_text=ref_text,
            ref_ids=ref_ids, codec_prime=[t.cpu() for t in prime] if prime else None,
            meta={"created": now_iso(), "reference_seconds": round(ref.duration_s, 3), "description": description,
                  "languages": list(languages),
                  "source_sample_rate": ref.source_sample_rate, "source_channels": ref.source_channels},
        )
        self.store.add(voice, persist=persist)
        return voice

    def get(self, name: str) -> VoicePrompt:
        return self.store.get(name)

    def delete(self, name: str) -> None:
        self.store.delete(name)

    def names(self) -> list[str]:
        return self.store.names()

    def describe_all(self) -> list[dict]:
        return self.store.describe_all()

    def _reference_ids(self, ref_text: str | None) -> list[int]:
        if not ref_text or not ref_text.strip():
            raise VoiceError("the transcript of the reference audio is required for in-context cloning "
                             "(or choose x-vector-only mode)", field="reference_text")
        if len(ref_text) > MAX_REF_TEXT_CHARS:
            raise VoiceError(f"is {len(ref_text)} characters; the limit is {MAX_REF_TEXT_CHARS}", field="reference_text")
        special = self.tokenizer.contains_special_token(ref_text)
        if special is not None:
            raise VoiceError(f"contains the control token {special!r}", field="reference_text")
        return self.tokenizer.reference_ids(ref_text)

    @staticmethod
    def _reference(audio) -> ReferenceAudio:
        if isinstance(audio, tuple):
            samples, rate = audio
            return reference_from_samples(samples, rate)
        return load_reference(audio)
