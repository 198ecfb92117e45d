"""A cloned voice, computed once from reference audio and reused by every request that names it.

x-vector mode keeps only the speaker embedding. ICL mode also keeps the reference codes, the reference
transcript's token ids, and the codec decoder's streaming state after decoding the reference codes ("primed"):
a request's first frame is decoded as if it followed the reference audio, exactly like the official decode of
[reference codes + generated codes] with the reference part cut off, but without decoding the reference again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class VoicePrompt:
    name: str
    x_vector: torch.Tensor  # float32 [talker hidden]
    ref_codes: torch.Tensor | None  # int64 [frames, 16]; None in x-vector mode
    ref_text: str | None
    ref_ids: list[int] | None  # token ids of the reference template (ICL)
    codec_prime: list[torch.Tensor] | None  # a 1-slot CodecState snapshot after the reference codes (ICL)
    meta: dict = field(default_factory=dict)  # created, duration, source rate/channels, model fingerprint

    @property
    def icl(self) -> bool:
        return self.ref_codes is not None

    def describe(self) -> dict:
        """What ListVoices shows: no tensors, no transcript text."""
        return describe(self.name, self.icl, self.meta)


def describe(name: str, icl: bool, meta: dict) -> dict:
    return {"name": name, "mode": "icl" if icl else "x_vector",
            **{k: meta[k] for k in ("created", "reference_seconds", "description", "languages") if k in meta}}
