"""The engine: requests in, frames (16 codes + 1920 PCM samples each) out, one step at a time.

    engine = Engine.load("path/or/hub-id", slots=4)
    seq = engine.submit(SynthesisRequest(text="Hello", speaker="ryan"))
    while engine.has_work:
        for event in engine.step(): ...

Requests join at any step boundary (continuous batching); `cancel` frees a slot before the next step; a
sequence with a consumer `credit` pauses when the credit runs out. `synthesize()` is the offline path: one
request run to the end.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from itertools import count

import numpy as np
import torch

from workers.checkpoint import (
    ACOUSTIC_IGNORED,
    CheckpointLocation,
    load_config,
    load_weights,
    parse_device,
    parse_dtype,
    resolve,
)
from workers.codec.decoder import CodecDecoder
from workers.config import ModelConfig
from workers.engine.memory import plan_cache
from workers.engine.runner import ModelRunner
from workers.engine.scheduler import Scheduler
from workers.engine.sequence import FinishReason, Sequence, Status
from workers.model.qwen3_tts import Qwen3TTSModel
from workers.prompt import Prompt, build_prompt
from workers.request import SynthesisRequest, Violation, validate
from workers.text import TextTokenizer
from workers.voice_store import VoiceError
from workers.voices import VoiceRegistry

log = logging.getLogger(__name__)

# Prefill work per step (docs/architecture.md): whole chunks of 64 prompt tokens, 64 tokens per step while
# streams decode, up to 512 when none does.
DEFAULT_PREFILL_CHUNK = 64
DEFAULT_PREFILL_BUDGET = 64
DEFAULT_IDLE_PREFILL_BUDGET = 512
# Without an explicit max_frames, a request may run to 25 + 8 frames (0.64 s) per text token: far above any
# natural speaking rate, it only stops runaway generation (a missing EOS) from filling the context.
FRAMES_PER_TEXT_TOKEN, BASE_FRAMES = 8, 25
# The least audio a text can need: 2 frames (0.16 s) per token. Texts without room for that are refused.
MIN_FRAMES_PER_TEXT_TOKEN = 2


def max_frames_for_text(text_tokens: int) -> int:
    """The runaway guard for a request that sets no max_frames."""
    return BASE_FRAMES + FRAMES_PER_TEXT_TOKEN * text_tokens


class RequestError(ValueError):
    """A request this engine cannot run; `violations` name the fields."""

    def __init__(self, violations: list[Violation]):
        super().__init__("; ".join(str(v) for v in violations))
        self.violations = violations


@dataclass(frozen=True)
class FrameEvent:
    seq_id: int
    index: int  # frame number within the utterance
    codes: np.ndarray  # int64 [16]
    pcm: np.ndarray  # float32 [samples_per_frame]
    finish_reason: FinishReason | None  # set on the last frame of the utterance


@dataclass(frozen=True)
class SynthesisResult:
    codes: np.ndarray  # int64 [frames, 16]
    pcm: np.ndarray  # float32 [frames * samples_per_frame]
    seed: int
    finish_reason: FinishReason
    sample_rate: int


class Engine:
    def __init__(self, config: ModelConfig, model: Qwen3TTSModel, codec: CodecDecoder, tokenizer: TextTokenizer,
                 *, slots: int, max_context: int, prefill_chunk: int = DEFAULT_PREFILL_CHUNK,
                 prefill_budget: int = DEFAULT_PREFILL_BUDGET, idle_prefill_budget: int = DEFAULT_IDLE_PREFILL_BUDGET,
                 voices: VoiceRegistry | None = None):
        self.config, self.model, self.tokenizer = config, model, tokenizer
        self.voices = voices  # Base checkpoints only
        self.runner = ModelRunner(model, codec, slots, max_context)
        self.scheduler = Scheduler(slots, prefill_chunk, prefill_budget, idle_prefill_budget)
        self._ids = count()
        self.sequences: dict[int, Sequence] = {}
        self.steps = 0

    @classmethod
    def load(cls, model: str | CheckpointLocation, *, device: str = "cpu", dtype: str = "float32",
             codec_dtype: str = "float32", slots: int = 1, max_context: int | None = None,
             voice_store: str | None = None, **kwargs) -> Engine:
        t0 = time.perf_counter()
        dev, talker_dtype, codec_dt = parse_device(device), parse_dtype(dtype), parse_dtype(codec_dtype)
        where = model if isinstance(model, CheckpointLocation) else resolve(model)
        config = load_config(where.path)
        with torch.device("meta"):
            acoustic = Qwen3TTSModel(config)
        load_weights(acoustic, where.path / "model.safetensors", talker_dtype, dev, ignore=ACOUSTIC_IGNORED)
        acoustic.eval()
        codec = CodecDecoder.from_checkpoint(where.path / "speech_tokenizer", config.codec, dtype=codec_dt, device=dev)
        tokenizer = TextTokenizer.load(where.path, loaded_from_hub=where.loaded_from_hub)
        voices = None
        if config.model_type == "base":
            voices = VoiceRegistry.load(where.path, config, tokenizer, codec, voice_store, talker_dtype, dev)
        plan = plan_cache(config, talker_dtype, dev, slots, max_context)
        engine = cls(config, acoustic, codec, tokenizer, slots=slots, max_context=plan.max_context, voices=voices,
                     **kwargs)
        log.info("loaded %s (%s %s) in %.1fs: %s talker, %s codec, %d slots x %d positions (%.0f MB KV)",
                 where.path, config.model_type, config.model_size, time.perf_counter() - t0, dtype, codec_dtype,
                 slots, plan.max_context, plan.kv_bytes / 1e6)
        return engine

    @property
    def slots(self) -> int:
        return self.runner.slots

    @property
    def max_context(self) -> int:
        return self.runner.max_context

    # ------------------------------------------------------------------ requests
    def submit(self, req: SynthesisRequest, *, credit: int | None = None) -> Sequence:
        """Validate, build the prompt and queue. Raises RequestError naming the fields when it cannot run."""
        violations = validate(req, self.config, self.tokenizer.contains_special_token(req.text or ""))
        if violations:
            raise RequestError(violations)
        voice = None
        if req.voice:
            try:
                voice = self.voices.get(req.voice)
            except VoiceError as e:
                raise RequestError([Violation("voice", str(e))]) from e
        prompt = build_prompt(self.model, self.tokenizer, req, voice)
        seq = Sequence(
            seq_id=next(self._ids),
            request=req,
            sampling=req.sampling.resolve(self.config.generation),
            seed=req.seed if req.seed is not None else secrets.randbits(63),
            max_frames=self._max_frames(req, prompt),
            prompt_len=prompt.length,
            text_len=prompt.trailing.shape[0],
            credit=credit,
            submitted_at=time.monotonic(),
        )
        self.runner.stage(seq, prompt)
        self.sequences[seq.seq_id] = seq
        self.scheduler.add(seq)
        return seq

    def _max_frames(self, req: SynthesisRequest, prompt: Prompt) -> int:
        prompt_len = prompt.length
        room = self.max_context - prompt_len
        text_tokens = max(prompt.text_tokens, 1)
        needed = MIN_FRAMES_PER_TEXT_TOKEN * text_tokens
        if needed > room:  # the text itself does not fit, whatever max_frames says
            raise RequestError([Violation("text", (
                f"too long for this engine: its prompt takes {prompt_len} of {self.max_context} context positions, "
                f"leaving room for {max(room, 0)} audio frames; the text needs about {needed}"))])
        if req.max_frames is not None:
            if req.max_frames > room:
                raise RequestError([Violation("max_frames", (
                    f"{req.max_frames} frames do not fit: the prompt takes {prompt_len} of this engine's "
                    f"{self.max_context} context positions"))])
            return req.max_frames
        return min(self.config.generation.max_new_tokens - 1, room, max_frames_for_text(text_tokens))

    def cancel(self, seq_id: int) -> bool:
        """Stop a sequence; its slot is free for the next step. False if it is unknown or already finished."""
        seq = self.sequences.get(seq_id)
        if seq is None:
            return False
        self._finish(seq, FinishReason.CANCELLED)
        return True

    def add_credit(self, seq_id: int, frames: int) -> None:
        seq = self.sequences.get(seq_id)
        if seq is not None and seq.credit is not None:
            seq.credit += frames

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work

    def stats(self) -> dict:
        s = self.scheduler
        return {
            "steps": self.steps,
            "slots": self.slots,
            "free_slots": len(s.free_slots),
            "running": len(s.running),
            "waiting": len(s.waiting),
            "paused": sum(1 for q in s.running if q.status is Status.DECODING and not q.has_credit),
            "seconds": dict(self.runner.seconds),
        }

    # ------------------------------------------------------------------ stepping
    def step(self) -> list[FrameEvent]:
        plan = self.scheduler.schedule()
        now = time.monotonic()
        for chunk in plan.prefill:
            if chunk.start == 0:
                chunk.seq.admitted_at = now
                self.runner.admit(chunk.seq)
            self.runner.prefill(chunk.seq, chunk.start, chunk.length)
            self.scheduler.prefilled(chunk)
        if not plan.decode:
            return []
        self.steps += 1
        # Occupied slots that emit no frame this step (paused, prefilling, or just prefilled) must keep their state.
        decoding = {s.seq_id for s in plan.decode}
        out = self.runner.decode(plan.decode, [s for s in self.scheduler.running if s.seq_id not in decoding])
        now = time.monotonic()
        events = []
        for seq in plan.decode:
            index = seq.frames
            seq.frames += 1
            if seq.credit is not None:
                seq.credit -= 1
            if seq.first_frame_at is None:
                seq.first_frame_at = now
            reason = None
            if out.next_code0[seq.slot] == self.config.talker.codec_eos_id:
                reason = FinishReason.EOS
            elif seq.frames >= seq.max_frames:
                reason = FinishReason.MAX_FRAMES
            events.append(FrameEvent(seq.seq_id, index, out.codes[seq.slot].copy(), out.pcm[seq.slot].copy(), reason))
            if reason is not None:
                self._finish(seq, reason)
        return events

    def _finish(self, seq: Sequence, reason: FinishReason) -> None:
        self.scheduler.finish(seq, reason)
        self.runner.release(seq)
        self.sequences.pop(seq.seq_id, None)

    # ------------------------------------------------------------------ offline
    def synthesize(self, req: SynthesisRequest) -> SynthesisResult:
        seq = self.submit(req)
        codes, pcm, reason = [], [], None
        while not seq.finished:
            for ev in self.step():
                if ev.seq_id == seq.seq_id:
                    codes.append(ev.codes)
                    pcm.append(ev.pcm)
                    reason = ev.finish_reason or reason
        return SynthesisResult(
            codes=np.stack(codes) if codes else np.zeros((0, self.config.talker.num_code_groups), np.int64),
            pcm=np.concatenate(pcm) if pcm else np.zeros(0, np.float32),
            seed=seq.seed, finish_reason=reason, sample_rate=self.config.codec.sample_rate,
        )
