"""The engine: requests in, frames (16 codes + 1920 PCM samples each) out, one step at a time.

    engine = load_engine("path/or/hub-id", slots=4)          # tts/engine/loader.py
    seq = engine.submit(resolve(SynthesisRequest(text="Hello", voice="ryan"), engine.capabilities))
    for frame in engine.run([seq]): ...                      # the last one carries `ended`

A step has three beats: the scheduler plans (sequences and slots), the runner turns the plan into tensors and
runs the model and codec, the scheduler folds the results back (frames, credit, finishes). Requests join at any
step boundary (continuous batching); `cancel` frees a slot before the next step; a sequence with a consumer
`credit` pauses when the credit runs out.

The engine trusts requests resolved by `contract.rules.resolve`; it re-checks only what needs the tokenizer
or the cache (no control tokens in the text, the voice exists, the prompt fits) and reports it in the API's
field names.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count

import numpy as np

from contract.capabilities import Capabilities
from contract.outcome import FinishReason, Outcome
from contract.request import SynthesisRequest
from contract.rules import InvalidRequest, Violation
from tts.checkpoint.config import ModelConfig
from tts.codec.decoder import CodecDecoder
from tts.engine.memory import MIN_FRAMES_PER_TEXT_TOKEN, max_frames_for_text
from tts.engine.precision import Precision, choose_precision
from tts.engine.runner import ModelRunner
from tts.engine.scheduler import Scheduler
from tts.engine.sequence import Sequence, Status
from tts.model.qwen3_tts import Qwen3TTSModel
from tts.model.sampling import resolve_sampling
from tts.prompt.builder import build_prompt
from tts.prompt.tokenizer import TextTokenizer
from tts.voices.registry import VoiceRegistry
from tts.voices.store import VoiceError
from tts.voices.voice import VoicePrompt

log = logging.getLogger(__name__)

# Prefill work per step (docs/architecture.md): whole chunks of 64 prompt tokens, 64 tokens per step while
# streams decode, up to 512 when none does.
DEFAULT_PREFILL_CHUNK = 64
DEFAULT_PREFILL_BUDGET = 64
DEFAULT_IDLE_PREFILL_BUDGET = 512


class RequestError(InvalidRequest):
    """A resolved request this engine still cannot run (the prompt does not fit, the voice is gone, ...)."""


@dataclass(frozen=True)
class Frame:
    seq_id: int
    index: int  # frame number within the utterance
    codes: np.ndarray  # int64 [16]
    pcm: np.ndarray  # float32 [samples_per_frame]
    segment: int = 0  # the text segment it belongs to
    ended: Outcome | None = None  # set on a sequence's last frame
    parked: bool = False  # an open sequence's last frame before it waits for more text (no slot meanwhile)


@dataclass(frozen=True)
class SynthesisResult:
    codes: np.ndarray  # int64 [frames, 16]
    pcm: np.ndarray  # float32 [frames * samples_per_frame]
    seed: int
    finish_reason: FinishReason
    sample_rate: int


class Engine:
    def __init__(self, config: ModelConfig, model: Qwen3TTSModel, codec: CodecDecoder, tokenizer: TextTokenizer,
                 *, model_name: str, slots: int, max_context: int, prefill_chunk: int = DEFAULT_PREFILL_CHUNK,
                 prefill_budget: int = DEFAULT_PREFILL_BUDGET, idle_prefill_budget: int = DEFAULT_IDLE_PREFILL_BUDGET,
                 voices: VoiceRegistry | None = None, precision: Precision | None = None):
        self.config, self.model, self.tokenizer = config, model, tokenizer
        # What each component runs in (reported in GetServiceInfo); None = built by hand, the exact default.
        self.precision = precision or choose_precision()
        self.capabilities: Capabilities = config.capabilities(model_name)
        self.voices = voices  # Base checkpoints only
        self.runner = ModelRunner(model, codec, slots, max_context)
        self.scheduler = Scheduler(slots, prefill_chunk, prefill_budget, idle_prefill_budget)
        self._ids = count()
        self.sequences: dict[int, Sequence] = {}
        self._voices: dict[int, VoicePrompt | None] = {}  # a sequence's voice, for its later segments' prompts
        self._fixed: dict[int, int] = {}  # an open sequence's prompt length around its text
        self.steps = 0

    @property
    def slots(self) -> int:
        return self.runner.slots

    @property
    def max_context(self) -> int:
        return self.runner.max_context

    # ------------------------------------------------------------------ requests
    def submit(self, req: SynthesisRequest, *, credit: int | None = None, open: bool = False) -> Sequence:
        """Build the first segment's prompt and queue a resolved request. Raises RequestError naming the fields.

        `open`: streaming text input: the segments come later (`append`), the first of them possibly in `req`;
        the sequence parks, holding no slot, whenever it has spoken all it has."""
        texts = [s.text for s in req.segments] or ([] if open else [req.text])
        self._check_texts(texts)
        voice = None
        if self.config.model_type == "base":
            try:
                voice = self.voices.get(req.voice)
            except VoiceError as e:
                raise RequestError([Violation("voice", str(e))]) from e
        elif self.config.model_type == "custom_voice" and req.voice not in self.config.talker.speakers:
            raise RequestError([Violation("voice", f"{req.voice!r} is not a speaker of this checkpoint")])
        bound = math.ceil(req.max_audio_duration_ms / self.capabilities.frame_ms) if req.max_audio_duration_ms else 0
        prompt, guards = None, []
        if texts:
            prompt = build_prompt(self.model, self.tokenizer, req, voice, texts[0])
            one = len(texts) == 1 and not open  # a plain request's own bound replaces its runaway guard
            guards = [self._segment_budget(req, prompt.length, prompt.text_tokens, bound if one else 0)]
            # Later segments' prompts are built when they start; check now that each will fit the context.
            guards += self._check_fit(req, prompt.length - prompt.text_tokens, texts[1:])
        seq = Sequence(
            seq_id=next(self._ids),
            request=req,
            texts=texts,
            sampling=resolve_sampling(req.sampling, self.config.generation),
            seed=req.seed if req.seed is not None else secrets.randbits(63),
            max_frames=bound or (2**62 if open else sum(guards)),
            prompt_len=prompt.length if prompt else 0,
            segment_max_frames=guards[0] if guards else 0,
            open=open,
            credit=credit,
        )
        self._voices[seq.seq_id] = voice
        self.sequences[seq.seq_id] = seq
        if prompt is not None:
            self.runner.stage(seq, prompt)
        self.scheduler.add(seq, parked=prompt is None)
        return seq

    def append(self, seq_id: int, texts: list[str], *, end: bool = False) -> Outcome | None:
        """More segments for an open sequence (and, with `end`, the last of them). Raises RequestError for a
        text this engine cannot speak. Returns the outcome when `end` finds it parked with nothing left."""
        seq = self.sequences.get(seq_id)
        if seq is None:
            return None
        self._check_texts(texts)
        if texts:
            self._check_fit(seq.request, self._fixed_prompt(seq), texts)
        seq.texts.extend(texts)
        if end:
            seq.open = False
        if seq.status is Status.PARKED:
            if seq.segment < len(seq.texts):
                self._stage_segment(seq)
                self.scheduler.resume(seq)
            elif not seq.open:
                self.scheduler.finish(seq, FinishReason.EOS)
                return self._retire(seq)
        return None

    def interrupt(self, seq_id: int) -> bool:
        """Barge-in on an open sequence: drop the segments it has not spoken and stop the one it speaks now,
        before the next step; it parks (its codec state kept: the next words continue the same stream)."""
        seq = self.sequences.get(seq_id)
        if seq is None or not seq.open or seq.status is Status.PARKED:
            return False
        slot = seq.slot
        self.scheduler.park(seq)
        # The unspoken segments are skipped, not deleted: segment indices are the session's (server/sessions.py
        # numbers its segments across turns, dropped ones included), so the next text keeps the index it was given.
        seq.segment = len(seq.texts)
        if slot is not None:
            self.runner.set_aside(seq, slot)
        self.runner.release(seq)
        return True

    def _check_texts(self, texts: list[str]) -> None:
        for text in texts:
            token = self.tokenizer.contains_special_token(text)
            if token is not None:
                raise RequestError([Violation("text", f"contains the control token {token!r}")])

    def _fixed_prompt(self, seq: Sequence) -> int:
        """The prompt around a segment's text (the same for every segment of a request)."""
        if seq.seq_id not in self._fixed:
            probe = build_prompt(self.model, self.tokenizer, seq.request, self._voices[seq.seq_id], "a")
            self._fixed[seq.seq_id] = probe.length - probe.text_tokens
        return self._fixed[seq.seq_id]

    def _check_fit(self, req: SynthesisRequest, fixed: int, texts: list[str]) -> list[int]:
        """Each of these segments' runaway guard; RequestError if one will not fit the context when it starts."""
        out = []
        for text in texts:
            tokens = len(self.tokenizer.encode(text))
            out.append(self._segment_budget(req, fixed + tokens + 1, tokens, 0))
        return out

    def _segment_budget(self, req: SynthesisRequest, prompt_len: int, text_tokens: int, bound: int) -> int:
        """A segment's frames at most: the request's own bound (a one-segment request), else the runaway guard
        from its text (with slack when instructions may slow the speech), within what its context leaves."""
        room = self.max_context - prompt_len
        needed = MIN_FRAMES_PER_TEXT_TOKEN * max(text_tokens, 1)
        if needed > room:  # the text itself does not fit, whatever the duration bound says
            raise RequestError([Violation("text", (
                f"too long for this engine: its prompt takes {prompt_len} of {self.max_context} context positions, "
                f"leaving room for {max(room, 0)} audio frames; the text needs about {needed}"))])
        if bound:
            if bound > room:
                raise RequestError([Violation("max_audio_duration_ms", (
                    f"{bound} frames do not fit: the prompt takes {prompt_len} of this engine's "
                    f"{self.max_context} context positions"))])
            return bound
        guard = max_frames_for_text(text_tokens, bool(req.instructions))
        return min(self.config.generation.max_new_tokens - 1, room, guard)

    def cancel(self, seq_id: int) -> Outcome | None:
        """Stop a sequence; its slot is free for the next step. Its outcome (cancelled), or None if it is
        unknown or has already ended."""
        seq = self.sequences.get(seq_id)
        if seq is None or not self.scheduler.finish(seq, FinishReason.CANCELLED):
            return None
        return self._retire(seq)

    def add_credit(self, seq_id: int, frames: int) -> None:
        seq = self.sequences.get(seq_id)
        if seq is not None:
            self.scheduler.add_credit(seq, frames)

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
    def step(self) -> list[Frame]:
        """schedule -> run -> postprocess; returns this step's frames (a sequence's last one says it ended)."""
        plan = self.scheduler.schedule()
        out = self.runner.run(plan)
        if out is None:
            self.scheduler.postprocess(plan, [])
            return []
        self.steps += 1
        eos_id = self.config.talker.codec_eos_id
        frames = []
        for e in self.scheduler.postprocess(plan, [bool(out.next_code0[s.slot] == eos_id) for s in plan.decode]):
            seq = e.seq
            frames.append(Frame(seq.seq_id, e.index, out.codes[seq.slot].copy(), out.pcm[seq.slot].copy(),
                                e.segment, self._retire(seq) if e.reason is not None else None, e.parked))
            if e.runaway:
                log.warning("sequence %d: segment %d reached its runaway guard (%d frames) without end of speech; "
                            "going on with the next segment", seq.seq_id, e.segment, seq.segment_max_frames)
            if e.segment_ended:
                self._stage_segment(seq)
            elif e.parked:
                self.runner.set_aside(seq, seq.slot)
        return frames

    def _stage_segment(self, seq: Sequence) -> None:
        """Build and stage the prompt of the segment a sequence starts next."""
        req = seq.request
        prompt = build_prompt(self.model, self.tokenizer, req, self._voices[seq.seq_id], seq.texts[seq.segment])
        self.runner.stage(seq, prompt)
        self.scheduler.segment_prompt(seq, prompt.length,
                                      self._segment_budget(req, prompt.length, prompt.text_tokens, 0))

    def _retire(self, seq: Sequence) -> Outcome:
        """Drop an ended sequence's prompt and bookkeeping; its outcome."""
        self.runner.release(seq)
        self.sequences.pop(seq.seq_id, None)
        self._voices.pop(seq.seq_id, None)
        self._fixed.pop(seq.seq_id, None)
        rel = lambda t: None if t is None else t - seq.submitted_at  # noqa: E731
        return Outcome(seq.finish_reason, seq.frames, rel(seq.admitted_at) or 0.0, rel(seq.first_frame_at))

    # ------------------------------------------------------------------ driving
    def run(self, seqs: list[Sequence], feed: Callable[[bool], list[Sequence] | None] | None = None
            ) -> Iterator[Frame]:
        """The drive loop of in-process callers: step until every one of `seqs` has ended, yielding their frames
        in order. `feed(idle)`, if given, is called before every step: it submits what has arrived and returns
        those sequences, or None once nothing more will come; `idle` says that nothing is running (the feed may
        then wait for its next arrival). Closing the iterator early cancels the sequences still running."""
        pending = {s.seq_id for s in seqs}
        try:
            while pending or feed is not None:
                if feed is not None:
                    new = feed(not self.has_work)
                    if new is None:
                        feed = None
                    else:
                        pending.update(s.seq_id for s in new)
                for frame in self.step():
                    if frame.seq_id in pending:
                        if frame.ended is not None:
                            pending.discard(frame.seq_id)
                        yield frame
        finally:
            for seq_id in pending:
                self.cancel(seq_id)

    def synthesize(self, req: SynthesisRequest) -> SynthesisResult:
        """One resolved request run to the end (offline)."""
        seq = self.submit(req)
        frames = list(self.run([seq]))
        return SynthesisResult(
            codes=np.stack([f.codes for f in frames]) if frames else np.zeros((0, self.config.talker.num_code_groups),
                                                                               np.int64),
            pcm=np.concatenate([f.pcm for f in frames]) if frames else np.zeros(0, np.float32),
            seed=seq.seed, finish_reason=seq.finish_reason, sample_rate=self.config.codec.sample_rate,
        )
