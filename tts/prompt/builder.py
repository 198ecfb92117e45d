"""Prompt construction: a resolved request (contract/rules.py) -> talker prompt embeddings and the trailing text track.

Layout (qwen3-tts-architecture.md §2.3), every position = text track + codec track:
  [instruction, text only]          <|im_start|>user\\n{instruct}<|im_end|>\\n     (if any)
  [role, text only]                 <|im_start|> assistant \\n
  [header]                          tts_pad + C(think / nothink prefix, language), tts_pad + speaker, tts_bos + C(pad)
  [body]   non-streaming text:      T(t_1..t_n, tts_eos) + C(pad),  then tts_pad + C(bos);  trailing = [tts_pad]
           streaming text:          T(t_1) + C(bos);                trailing = T(t_2..t_n, tts_eos)
           ICL clone (streaming):   X = T(ref text, text, tts_eos) (T1 vectors), R = [C(bos), F(ref frame)...] (T2)
                                    T1 > T2: X[:T2] + R, trailing = X[T2:];  else: (X, tts_pad...) + R, [tts_pad]
           ICL clone (non-stream.): X + C(pad), then R + tts_pad;  trailing = [tts_pad]
The speaker slot holds C(speaker id) for CustomVoice, the voice's x-vector for clones, nothing for VoiceDesign.
Text vectors are projected in the same groups as the official code (instruction, role, [bos, eos, pad], first
token, the rest), because a matrix product's rounding depends on how many rows it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from contract.request import SynthesisRequest
from tts.checkpoint.config import ModelConfig
from tts.model.qwen3_tts import Qwen3TTSModel
from tts.prompt.tokenizer import REFERENCE_SUFFIX_LEN, ROLE_PREFIX_LEN, TARGET_SUFFIX_LEN, TextTokenizer
from tts.voices.voice import VoicePrompt


@dataclass
class Prompt:
    embeds: torch.Tensor  # [P, D] prefill inputs
    trailing: torch.Tensor  # [n, D] text-track vectors added to decode steps 0, 1, ... (then tts_pad)
    text_tokens: int  # tokens of the text to speak (for length guards)
    codec_prime: list[torch.Tensor] | None = None  # 1-slot codec state to start from (ICL clones)

    @property
    def length(self) -> int:
        return self.embeds.shape[0]


def default_non_streaming(config: ModelConfig) -> bool:
    """The official defaults: whole text in the prompt for CustomVoice/VoiceDesign, streaming text for clones."""
    return config.model_type != "base"


def language_prefix(config: ModelConfig, language: str, speaker: str | None) -> list[int]:
    """The codec 'think' prefix: auto -> [nothink, think_bos, think_eos]; else [think, think_bos, lang, think_eos].

    A dialect speaker overrides Chinese or auto with its dialect id (which also selects the 4-token form).
    """
    t = config.talker
    lang = language.lower()
    lang_id = None if lang == "auto" else t.language_ids[lang]
    if lang in ("chinese", "auto") and speaker and t.speaker_dialects.get(speaker.lower()):
        lang_id = t.language_ids[t.speaker_dialects[speaker.lower()]]
    if lang_id is None:
        return [t.codec_nothink_id, t.codec_think_bos_id, t.codec_think_eos_id]
    return [t.codec_think_id, t.codec_think_bos_id, lang_id, t.codec_think_eos_id]


@torch.inference_mode()
def build_prompt(model: Qwen3TTSModel, tokenizer: TextTokenizer, req: SynthesisRequest,
                 voice: VoicePrompt | None = None, text: str | None = None) -> Prompt:
    """`text`: the segment to speak (default: the request's whole text), with the request's voice, language,
    instructions and text layout."""
    config, talker = model.config, model.talker
    t = config.talker
    device = talker.model.codec_embedding.weight.device
    as_ids = lambda ids: torch.tensor([ids], dtype=torch.int64, device=device)  # noqa: E731

    ids = as_ids(tokenizer.target_ids(req.text if text is None else text))
    tts_bos, tts_eos, tts_pad = (v.view(1, 1, -1) for v in model.special_text_vectors())

    speaker = req.voice if config.model_type == "custom_voice" else None
    codec_ids = language_prefix(config, req.language, speaker)
    codec_track = [talker.codec(as_ids(codec_ids))]
    if speaker:
        codec_track.append(talker.codec(torch.tensor(t.speakers[speaker], device=device)).view(1, 1, -1))
    elif voice is not None:
        codec_track.append(voice.x_vector.to(device=device, dtype=tts_pad.dtype).view(1, 1, -1))
    codec_track.append(talker.codec(as_ids([t.codec_pad_id, t.codec_bos_id])))
    codec_track = torch.cat(codec_track, dim=1)  # [1, K, D]; its last entry C(bos) starts the body
    k = codec_track.shape[1]

    parts = []
    if req.instructions:
        parts.append(talker.text(as_ids(tokenizer.instruct_ids(req.instructions))))
    parts.append(talker.text(ids[:, :ROLE_PREFIX_LEN]))
    parts.append(torch.cat((tts_pad.expand(-1, k - 2, -1), tts_bos), dim=1) + codec_track[:, :-1])

    non_streaming = default_non_streaming(config) if req.non_streaming is None else req.non_streaming
    text_ids = ids[:, ROLE_PREFIX_LEN:-TARGET_SUFFIX_LEN]
    if voice is not None and voice.icl:
        body, trailing = _icl_body(talker, t, voice, text_ids, as_ids, tts_eos, tts_pad, non_streaming)
        parts += body
    elif non_streaming:
        n = text_ids.shape[1]
        parts.append(torch.cat((talker.text(text_ids), tts_eos), dim=1) + talker.codec(as_ids([t.codec_pad_id] * (n + 1))))
        parts.append(tts_pad + talker.codec(as_ids([t.codec_bos_id])))
        trailing = tts_pad
    else:
        parts.append(talker.text(ids[:, ROLE_PREFIX_LEN:ROLE_PREFIX_LEN + 1]) + codec_track[:, -1:])
        trailing = torch.cat((talker.text(ids[:, ROLE_PREFIX_LEN + 1:-TARGET_SUFFIX_LEN]), tts_eos), dim=1)
    return Prompt(embeds=torch.cat(parts, dim=1)[0], trailing=trailing[0], text_tokens=text_ids.shape[1],
                  codec_prime=voice.codec_prime if voice is not None else None)


def _icl_body(talker, t, voice: VoicePrompt, text_ids: torch.Tensor, as_ids, tts_eos, tts_pad, non_streaming: bool):
    """The in-context body: reference transcript + text on the text track, reference frames on the codec track."""
    ref_ids = as_ids(voice.ref_ids)[:, ROLE_PREFIX_LEN:-REFERENCE_SUFFIX_LEN]
    text = torch.cat((talker.text(torch.cat((ref_ids, text_ids), dim=1)), tts_eos), dim=1)  # [1, T1, D]
    frames = talker.frame_embedding(voice.ref_codes.to(text_ids.device)).unsqueeze(0)
    codec = torch.cat((talker.codec(as_ids([t.codec_bos_id])), frames), dim=1)  # [1, T2, D]
    t1, t2 = text.shape[1], codec.shape[1]
    if non_streaming:
        return [text + talker.codec(as_ids([t.codec_pad_id] * t1)), codec + tts_pad], tts_pad
    if t1 > t2:
        return [text[:, :t2] + codec], text[:, t2:]
    return [torch.cat((text, tts_pad.expand(-1, t2 - t1, -1)), dim=1) + codec], tts_pad
