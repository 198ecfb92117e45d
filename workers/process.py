"""The worker process: load the checkpoint once, warm up, report ready, then run the engine loop.

Started with the spawn method (never fork: CUDA and gRPC do not survive it). The loop drains control messages
(without blocking while there is work), runs one engine step, and sends each frame as soon as the step that
made it returns. See workers/protocol.py for the message protocol.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection

from contract.outcome import FailureKind
from workers import protocol as p

log = logging.getLogger("workers.process")


def worker_main(worker_id: int, spec: p.WorkerSpec, inbox: Connection, outbox: Connection) -> None:
    """Entry point of a spawned worker process."""
    # The server owns a worker's lifetime (Shutdown, then SIGKILL; if the server dies, the next read of the inbox
    # raises EOFError and the worker exits).
    # SIGTERM and SIGINT often reach the whole process group (systemd's default stop, `timeout`, Ctrl-C in a
    # terminal): a worker that died of them would cut the streams the server is draining.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=spec.log_level, format=f"%(asctime)s worker{worker_id} %(levelname)s %(message)s")
    spec = _with_device(spec, worker_id)
    try:
        engine = _start(spec)
    except Exception as e:  # noqa: BLE001 - anything that stops startup is reported, then the process exits
        log.error("startup failed: %s", traceback.format_exc())
        outbox.send(p.Fatal(worker_id, f"{type(e).__name__}: {e}"))
        return
    pr = engine.precision
    precision = p.PrecisionInfo(pr.talker, pr.code_predictor, pr.codec, pr.quantization, pr.machine)
    outbox.send(p.Ready(worker_id, p.WorkerInfo(engine.capabilities, engine.slots, engine.max_context, spec.device,
                                                pr.activations, os.getpid(), precision)))
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

    from tts.engine.loader import load_engine, warm_up

    if spec.threads:
        torch.set_num_threads(spec.threads)
    engine = load_engine(spec.model, device=spec.device, dtype=spec.dtype, codec_dtype=spec.codec_dtype,
                         quantization=spec.quantization, slots=spec.slots, max_context=spec.max_context,
                         prefill_chunk=spec.prefill_chunk, prefill_budget=spec.prefill_budget,
                         voice_store=spec.voice_store)
    engine.runner.set_codec_batching(spec.codec_batching)
    if spec.compile and not engine.runner.compiled:
        engine.runner.compile()
    if spec.cuda_graphs and engine.runner.device.type == "cuda":
        t0 = time.perf_counter()
        count = engine.runner.capture_graphs()
        log.info("captured %d CUDA graphs of the decode step in %.1f s", count, time.perf_counter() - t0)
    warm_up(engine)
    return engine


class _Loop:
    def __init__(self, worker_id: int, spec: p.WorkerSpec, engine, inbox: Connection, outbox: Connection):
        self.worker_id, self.spec, self.engine = worker_id, spec, engine
        self.inbox, self.outbox = inbox, outbox
        self.seqs: dict[str, int] = {}  # request id -> engine sequence id
        self.names: dict[int, str] = {}  # engine sequence id -> request id
        self.submitted: dict[int, float] = {}  # engine sequence id -> when the Submit arrived
        self.running = True

    def run(self) -> None:
        while self.running:
            timeout = 0.0 if self.engine.has_work else self.spec.heartbeat_s
            while self.inbox.poll(timeout):
                self._handle(self.inbox.recv())
                timeout = 0.0
            if self.engine.has_work:
                try:
                    events = self.engine.step()
                except Exception:  # noqa: BLE001 - a failed step fails its requests, the worker lives on
                    self._fail_all(traceback.format_exc())
                    continue
                for frame in events:
                    name = self.names[frame.seq_id]
                    self.outbox.send(p.Frame(name, frame.index, frame.codes, frame.pcm, frame.segment))
                    if frame.ended is not None:
                        self._finished(frame.seq_id, frame.ended)
                    elif frame.parked:
                        self.outbox.send(p.Parked(name, self.engine.sequences[frame.seq_id].segment))
            # After every step, and every heartbeat when idle: the parent's view of progress and free slots.
            self._send_stats()

    def _handle(self, msg) -> None:
        from contract.rules import InvalidRequest

        match msg:
            case p.Submit():
                try:
                    seq = self.engine.submit(msg.request, credit=msg.credit, open=msg.open)
                except InvalidRequest as e:
                    self.outbox.send(p.Failed(msg.request_id, FailureKind.INVALID, str(e), e.violations))
                    return
                except Exception:  # noqa: BLE001 - one request must never take the worker (and its peers) down
                    log.error("submit of %s failed: %s", msg.request_id, traceback.format_exc())
                    self.outbox.send(p.Failed(msg.request_id, FailureKind.INTERNAL, "the request could not start"))
                    return
                self.seqs[msg.request_id], self.names[seq.seq_id] = seq.seq_id, msg.request_id
                self.submitted[seq.seq_id] = time.monotonic()
                self.outbox.send(p.Started(msg.request_id, seq.seed, seq.max_frames, seq.prompt_len))
            case p.Append():
                seq_id = self.seqs.get(msg.request_id)
                if seq_id is None:
                    return
                try:
                    outcome = self.engine.append(seq_id, list(msg.texts), end=msg.end)
                except InvalidRequest as e:
                    self.engine.cancel(seq_id)
                    self._forget(seq_id)
                    self.outbox.send(p.Failed(msg.request_id, FailureKind.INVALID, str(e), e.violations))
                    return
                if outcome is not None:
                    self._finished(seq_id, outcome)
            case p.Interrupt():
                seq_id = self.seqs.get(msg.request_id)
                if seq_id is not None and self.engine.interrupt(seq_id):
                    self.outbox.send(p.Parked(msg.request_id, self.engine.sequences[seq_id].segment))
            case p.Cancel():
                seq_id = self.seqs.get(msg.request_id)
                outcome = self.engine.cancel(seq_id) if seq_id is not None else None
                if outcome is not None:
                    self._finished(seq_id, outcome)
            case p.Credit():
                if msg.request_id in self.seqs:
                    self.engine.add_credit(self.seqs[msg.request_id], msg.frames)
            case p.VoiceCommand():
                self.outbox.send(self._voice(msg))
            case p.Shutdown():
                self.running = False

    def _voice(self, msg: p.VoiceCommand) -> p.VoiceResult:
        from tts.voices.reference_audio import ReferenceAudioError
        from tts.voices.store import VoiceError

        voices = self.engine.voices
        if voices is None:
            return p.VoiceResult(msg.request_id, error_kind=FailureKind.UNSUPPORTED,
                                 error=f"this {self.engine.config.model_type} checkpoint cannot clone voices")
        try:
            match msg.op:
                case p.VoiceOp.REGISTER:
                    voice = voices.register(msg.name, msg.audio, ref_text=msg.ref_text,
                                            x_vector_only=msg.x_vector_only, description=msg.description,
                                            languages=msg.languages)
                    return p.VoiceResult(msg.request_id, [voice.describe()])
                case p.VoiceOp.DELETE:
                    voices.delete(msg.name)
                    return p.VoiceResult(msg.request_id)
                case p.VoiceOp.LIST:
                    return p.VoiceResult(msg.request_id, voices.describe_all())
        except ReferenceAudioError as e:
            return p.VoiceResult(msg.request_id, error_kind=FailureKind.INVALID, error_field=e.field, error=str(e))
        except VoiceError as e:
            return p.VoiceResult(msg.request_id, error_kind=e.kind, error_field=e.field, error=str(e))
        except Exception:  # noqa: BLE001 - reported, and the worker keeps serving
            log.error("voice command %s failed: %s", msg.op.value, traceback.format_exc())
            return p.VoiceResult(msg.request_id, error_kind=FailureKind.INTERNAL, error="the voice operation failed")

    def _finished(self, seq_id: int, outcome) -> None:
        name = self.names[seq_id]
        total = time.monotonic() - self.submitted[seq_id]
        self._forget(seq_id)
        self.outbox.send(p.Finished(name, outcome, total))

    def _forget(self, seq_id: int) -> None:
        del self.seqs[self.names.pop(seq_id)]
        del self.submitted[seq_id]

    def _fail_all(self, trace: str) -> None:
        log.error("engine step failed; failing its requests: %s", trace)
        for name, seq_id in list(self.seqs.items()):
            self.engine.cancel(seq_id)
            self.outbox.send(p.Failed(name, FailureKind.INTERNAL, "the engine failed while generating this request"))
        self.seqs.clear()
        self.names.clear()
        self.submitted.clear()

    def _send_stats(self) -> None:
        s = self.engine.stats()
        self.outbox.send(p.Stats(self.worker_id, s["steps"], s["running"], s["waiting"], s["free_slots"],
                                 s["paused"], s["seconds"]))
