"""The codec encoder: 24 kHz audio -> 12.5 Hz frames of 16 codes, used for voice-clone reference codes.

It is transformers' `MimiModel` built from `speech_tokenizer/config.json`'s `encoder_config`, without the parts
the official codec drops (`upsample`, `decoder_transformer`, `decoder`), with the weights under `encoder.` in
`speech_tokenizer/model.safetensors`. Mimi is used as the library implements it on purpose: codes are chosen by
nearest codebook entry with `torch.cdist`, and nearest-vs-second margins can be ~1e-5, so any re-implementation
of the distance would flip codes. Attention runs with SDPA, which is what the official loader picks.

`encode` does what the official `Qwen3TTSTokenizerV2Model.encode` does for one waveform: Mimi encode (only the
first `encoder_valid_num_quantizers` codebooks are computed; residual quantization makes them identical to the
first ones of a full 32-codebook encode), then keep ceil(samples / 1920) frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import MimiConfig, MimiModel
from transformers.modeling_utils import no_init_weights

from tts.checkpoint.config import CodecConfig
from tts.checkpoint.loading import CheckpointError, load_weights

PREFIX = "encoder."
_DROPPED = ("upsample", "decoder_transformer", "decoder")


class CodecEncoder:
    def __init__(self, mimi: MimiModel, config: CodecConfig):
        self.mimi = mimi
        self.config = config

    @classmethod
    def from_checkpoint(cls, codec_dir: str | Path, config: CodecConfig, dtype: torch.dtype = torch.float32,
                        device="cpu") -> CodecEncoder:
        """Load `codec_dir/model.safetensors` (the `speech_tokenizer/` directory) with a strict key/shape check."""
        if not config.encoder_config:
            raise CheckpointError(f"{codec_dir}/config.json has no encoder_config: this codec cannot encode audio")
        try:
            mimi_config = MimiConfig(**config.encoder_config, attn_implementation="sdpa")
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{codec_dir}/config.json: encoder_config is not a valid Mimi config ({e})") from e
        if mimi_config.num_quantizers < config.encoder_valid_num_quantizers:
            raise CheckpointError(
                f"{codec_dir}/config.json: encoder_valid_num_quantizers ({config.encoder_valid_num_quantizers}) "
                f"exceeds the Mimi encoder's num_quantizers ({mimi_config.num_quantizers})"
            )
        with no_init_weights():  # allocate only: every persistent tensor is overwritten from the checkpoint
            mimi = MimiModel(mimi_config)
        for name in _DROPPED:
            setattr(mimi, name, None)
        load_weights(mimi, Path(codec_dir) / "model.safetensors", dtype, torch.device(device), prefix=PREFIX)
        mimi.to(device)  # the non-persistent buffers (conv geometry, rotary frequencies) that were not loaded
        return cls(mimi.requires_grad_(False).eval(), config)

    @property
    def samples_per_frame(self) -> int:
        return self.config.samples_per_frame

    @torch.inference_mode()
    def encode(self, audio_24k: np.ndarray) -> torch.Tensor:
        """float32 mono 24 kHz samples [N] -> codes [ceil(N / 1920), 16] int64 on the CPU.

        The waveform is cast to the model dtype first, as the official feature-extractor path does."""
        audio = np.asarray(audio_24k, dtype=np.float32)
        if audio.ndim != 1 or audio.size == 0:
            raise ValueError(f"expected non-empty mono samples [N], got shape {list(audio.shape)}")
        p = next(self.mimi.parameters())
        x = torch.from_numpy(np.ascontiguousarray(audio)).to(device=p.device, dtype=p.dtype)[None, None]
        codes = self.mimi.encode(x, num_quantizers=self.config.encoder_valid_num_quantizers,
                                 return_dict=True).audio_codes  # [1, Q, frames]
        frames = -(-audio.size // self.samples_per_frame)
        return codes[0, :, :frames].transpose(0, 1).to("cpu", torch.long).contiguous()
