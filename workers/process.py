"""The worker process: load the checkpoint once, warm up, report ready, then run the engine loop.

Started with the spawn method (never fork: CUDA and gRPC do not survive it). The loop drains control messages
(without blocking while there is work), runs one engine step, and sends each frame as soon as the step that
made it returns. See workers/protocol.py for the message protocol.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection

from workers import protocol as p

log = logging.getLogger("workers.process")


def worker_main(worker_id: int, spec: p.WorkerSpec, inbox: Connection, outbox: Connection) -> None:
    """Entry point of a spawned worker process."""
    logging.basicConfig(level=spec.log_level, format=f"%(asctime)s worker{worker_id} %(levelname)s %(message)s")
    try:
        engine = _start(_with_device(spec, worker_id))
    except Exception as e:  # noqa: BLE001 - anything that stops startup is reported, then the process exits
        log.error("startup failed: %s", traceback.format_exc())
        outbox.send(p.Fatal(worker_id, f"{type(e).__name__}: {e}"))
        return
    outbox.send(p.Ready(worker_id, _info(engine, _with_device(spec, worker_id))))
    _Loop(worker_id, spec, engine, inbox, outbox).run()


def _with_device(spec: p.WorkerSpec, worker_id: int) -> p.WorkerSpec:
    """`auto`: this worker's GPU (worker i takes cuda:i mod count) when CUDA exists, else the CPU."""
    if spec.device != "auto":
        return spec
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return replace(spec, device=f"cuda:{worker_id % count}" if count else "cpu")


def _start(spec: p.WorkerSpec):
    import torch

    from workers.engine.engine import Engine
    from workers.request import Sampling, SynthesisRequest

    if spec.threads:
        torch.set_num_threads(spec.threads)
    engine = Engine.load(spec.model, device=spec.device, dtype=spec.dtype, codec_dtype=spec.codec_dtype,
                         slots=spec.slots, max_context=spec.max_context, prefill_chunk=spec.prefill_chunk,
                         prefill_budget=spec.prefill_budget, voice_store=spec.voice_store)
    if spec.compile:
        engine.runner.compile()
    # Warm-up: one short utterance through prefill, decode and codec (first-call allocations, compilation).
    c = engine.config
    voice = None
    if engine.voices is not None:  # Base: a throw-away voice from a synthetic tone (also warms the encoders)
        import numpy as np

        tone = 0.3 * np.sin(2 * np.pi * 180 * np.arange(36000) / 24000).astype(np.float32)
        # A valid voice name ("_warmup" is refused by check_name, so no Base worker could start) that no stored
        # voice can already have: in memory only, deleted right after.
        import uuid

        voice = engine.voices.register(f"warmup-{uuid.uuid4().hex}", (tone, 24000), x_vector_only=True,
                                       persist=False).name
    engine.synthesize(SynthesisRequest(
        text="Warm-up.", speaker=c.speakers[0] if c.speakers else None, voice=voice,
        instruct="A neutral voice." if c.model_type == "voice_design" else None,
        sampling=Sampling.greedy(), max_frames=2))
    if voice:
        engine.voices.delete(voice)
    return engine


def _info(engine, spec: p.WorkerSpec) -> p.WorkerInfo:
    c = engine.config
    return p.WorkerInfo(
        model=spec.model, model_type=c.model_type, model_size=c.model_size, speakers=c.speakers,
        languages=c.languages, accepts_instruct=c.accepts_instruct, sample_rate=c.codec.sample_rate,
        samples_per_frame=c.codec.samples_per_frame, slots=engine.slots, max_context=engine.max_context,
        device=spec.device, dtype=spec.dtype, pid=os.getpid(),
    )


class _Loop:
    def __init__(self, worker_id: int, spec: p.WorkerSpec, engine, inbox: Connection, outbox: Connection):
        self.worker_id, self.spec, self.engine = worker_id, spec, engine
        self.inbox, self.outbox = inbox, outbox
        self.seqs: dict[str, object] = {}  # request id -> engine Sequence
        self.names: dict[int, str] = {}  # engine sequence id -> request id
        self.running = True

    def run(self) -> None:
        from workers.engine.engine import RequestError

        while self.running:
            timeout = 0.0 if self.engine.has_work else self.spec.heartbeat_s
            while self.inbox.poll(timeout):
                self._handle(self.inbox.recv(), RequestError)
                timeout = 0.0
            if self.engine.has_work:
                try:
                    events = self.engine.step()
                except Exception:  # noqa: BLE001 - a failed step fails its requests, the worker lives on
                    self._fail_all(traceback.format_exc())
                    continue
                for ev in events:
                    self._emit(ev)
            # After every step, and every heartbeat when idle: the parent's view of progress and free slots.
            self._send_stats()

    def _handle(self, msg, request_error) -> None:
        if isinstance(msg, p.Submit):
            try:
                seq = self.engine.submit(msg.request, credit=msg.credit)
            except request_error as e:
                self.outbox.send(p.Failed(msg.request_id, "invalid", str(e),
                                          [(v.field, v.message) for v in e.violations]))
                return
            self.seqs[msg.request_id], self.names[seq.seq_id] = seq, msg.request_id
            self.outbox.send(p.Started(msg.request_id, seq.seed, seq.max_frames, seq.prompt_len))
        elif isinstance(msg, p.Cancel):
            seq = self.seqs.get(msg.request_id)
            if seq is not None and self.engine.cancel(seq.seq_id):
                self._finished(seq)
        elif isinstance(msg, p.Credit):
            seq = self.seqs.get(msg.request_id)
            if seq is not None:
                self.engine.add_credit(seq.seq_id, msg.frames)
        elif isinstance(msg, p.VoiceCommand):
            self.outbox.send(self._voice(msg))
        elif isinstance(msg, p.Shutdown):
            self.running = False

    def _voice(self, msg: p.VoiceCommand) -> p.VoiceResult:
        from workers.reference_audio import ReferenceAudioError
        from workers.voice_store import VoiceError

        voices = self.engine.voices
        if voices is None:
            return p.VoiceResult(msg.request_id, error_kind="unsupported",
                                 error=f"this {self.engine.config.model_type} checkpoint cannot clone voices")
        try:
            if msg.op == "register":
                voice = voices.register(msg.name, msg.audio, ref_text=msg.ref_text, x_vector_only=msg.x_vector_only,
                                        description=msg.description, languages=msg.languages)
                return p.VoiceResult(msg.request_id, [voice.describe()])
            if msg.op == "delete":
                voices.delete(msg.name)
                return p.VoiceResult(msg.request_id)
            return p.VoiceResult(msg.request_id, voices.describe_all())
        except (VoiceError, ReferenceAudioError) as e:
            return p.VoiceResult(msg.request_id, error_kind=getattr(e, "kind", "invalid"), error_field=e.field,
                                 error=str(e))
        except Exception:  # noqa: BLE001 - reported, and the worker keeps serving
            log.error("voice command %s failed: %s", msg.op, traceback.format_exc())
            return p.VoiceResult(msg.request_id, error_kind="internal", error="the voice operation failed")

    def _emit(self, ev) -> None:
        name = self.names[ev.seq_id]
        self.outbox.send(p.Frame(name, ev.index, ev.codes, ev.pcm))
        if ev.finish_reason is not None:
            self._finished(self.seqs[name])

    def _finished(self, seq) -> None:
        name = self.names.pop(seq.seq_id)
        del self.seqs[name]
        now = time.monotonic()
        rel = lambda t: None if t is None else t - seq.submitted_at  # noqa: E731
        self.outbox.send(p.Finished(name, seq.finish_reason.value, seq.frames, rel(seq.admitted_at) or 0.0,
                                    rel(seq.first_frame_at), now - seq.submitted_at))

    def _fail_all(self, trace: str) -> None:
        log.error("engine step failed; failing its requests: %s", trace)
        for name, seq in list(self.seqs.items()):
            self.engine.cancel(seq.seq_id)
            self.outbox.send(p.Failed(name, "internal", "the engine failed while generating this request"))
        self.seqs.clear()
        self.names.clear()

    def _send_stats(self) -> None:
        s = self.engine.stats()
        self.outbox.send(p.Stats(self.worker_id, s["steps"], s["running"], s["waiting"], s["free_slots"],
                                 s["paused"], s["seconds"]))
