"""The engine: requests in, frames (16 codes + 1920 PCM samples each) out, step by step.

    engine = Engine.load("path/or/hub-id", slots=4)
    seq = engine.submit(SynthesisRequest(text="Hello", speaker="ryan"))
    while engine.has_work:
        for event in engine.step(): ...

`synthesize()` is the offline path: submit one request and run it to the end.
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
    CheckpointError,
    CheckpointLocation,
    load_config,
    load_weights,
    parse_device,
    parse_dtype,
    resolve,
)
from workers.codec.decoder import CodecDecoder
from workers.config import ModelConfig
from workers.engine.runner import ModelRunner
from workers.engine.scheduler import Scheduler
from workers.engine.sequence import FinishReason, Sequence, Status
from workers.model.qwen3_tts import Qwen3TTSModel
from workers.prompt import build_prompt
from workers.request import SynthesisRequest, Violation, validate
from workers.text import TextTokenizer

log = logging.getLogger(__name__)

DEFAULT_PREFILL_BUDGET = 256  # prompt tokens per engine step (see docs/architecture.md)


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
                 *, slots: int, max_context: int, prefill_budget: int = DEFAULT_PREFILL_BUDGET):
        if max_context > config.talker.max_position_embeddings:
            raise CheckpointError(
                f"max_context {max_context} exceeds the model's max_position_embeddings "
                f"{config.talker.max_position_embeddings}")
        self.config, self.model, self.tokenizer = config, model, tokenizer
        self.runner = ModelRunner(model, codec, slots, max_context)
        self.scheduler = Scheduler(slots, prefill_budget)
        self._ids = count()
        self.sequences: dict[int, Sequence] = {}

    @classmethod
    def load(cls, model: str | CheckpointLocation, *, device: str = "cpu", dtype: str = "float32", codec_dtype: str = "float32",
             slots: int = 1, max_context: int = 4096, prefill_budget: int = DEFAULT_PREFILL_BUDGET) -> Engine:
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
        engine = cls(config, acoustic, codec, tokenizer, slots=slots, max_context=max_context,
                     prefill_budget=prefill_budget)
        log.info("loaded %s (%s %s) in %.1fs: %s talker, %s codec, %d slots x %d positions", where.path,
                 config.model_type, config.model_size, time.perf_counter() - t0, dtype, codec_dtype, slots,
                 max_context)
        return engine

    # ------------------------------------------------------------------ requests
    def submit(self, req: SynthesisRequest) -> Sequence:
        violations = validate(req, self.config, self.tokenizer.contains_special_token(req.text or ""))
        if violations:
            raise RequestError(violations)
        prompt = build_prompt(self.model, self.tokenizer, req)
        max_frames = req.max_frames or self.config.generation.max_new_tokens - 1
        seq = Sequence(
            seq_id=next(self._ids),
            request=req,
            sampling=req.sampling.resolve(self.config.generation),
            seed=req.seed if req.seed is not None else secrets.randbits(63),
            max_frames=max_frames,
            prompt_len=prompt.length,
            text_len=prompt.trailing.shape[0],
        )
        if seq.context_needed > self.runner.max_context or seq.text_len > self.runner.max_context:
            raise RequestError([Violation(
                "text" if req.max_frames is None else "max_frames",
                f"needs {seq.context_needed} context positions (prompt {prompt.length} + {max_frames} frames); "
                f"this engine holds {self.runner.max_context}")])
        self.runner.stage(seq, prompt)
        self.sequences[seq.seq_id] = seq
        self.scheduler.add(seq)
        return seq

    def cancel(self, seq_id: int) -> None:
        seq = self.sequences.get(seq_id)
        if seq is not None and not seq.finished:
            self._finish(seq, FinishReason.CANCELLED)

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work

    # ------------------------------------------------------------------ stepping
    def step(self) -> list[FrameEvent]:
        plan = self.scheduler.schedule()
        for chunk in plan.prefill:
            if chunk.start == 0:
                self.runner.admit(chunk.seq)
            self.runner.prefill(chunk.seq, chunk.start, chunk.length)
            self.scheduler.prefilled(chunk)
        if not plan.decode:
            return []
        out = self.runner.decode(plan.decode)
        events = []
        for seq in plan.decode:
            index = seq.frames
            seq.frames += 1
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
        del self.sequences[seq.seq_id]

    # ------------------------------------------------------------------ offline
    def synthesize(self, req: SynthesisRequest) -> SynthesisResult:
        seq = self.submit(req)
        codes, pcm, reason = [], [], None
        while seq.status is not Status.FINISHED:
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
