"""Synthesis in this process, without a server (`qwen3-tts say --local`): try a model before deploying it.

    for response in synthesize_local(request_msg, "req-1", model="Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice"): ...

It produces exactly what a server would send, with the server's own pieces: the request is resolved by the
same rulebook (contract/rules.py, the server's default limits), frames come from an in-process engine and go
through the same response pipeline (server/responses.py) and message conversion (server/doors/grpc_messages.py).
The engine is sized as `python -m workers synth` sizes it (one slot, tts/engine/memory.py `context_for`), so for
the same seed the audio equals that command's output bit for bit. Errors are `ServiceError`s; everything
(loading the weights included) happens when the iterator is first read. Each call loads the model anew: a
convenience for single requests, not a server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from contract.outcome import FinishReason
from contract.rules import InvalidRequest, Violation
from qwen3tts.v1 import tts_pb2
from server import errors
from server.calls import prepare
from server.config import ServerConfig
from server.doors.grpc_messages import response, synthesis_request
from server.responses import ResponsePipeline


def synthesize_local(msg: tts_pb2.SynthesizeRequest, request_id: str, *, model: str, device: str = "cpu",
                     dtype: str = "float32", codec_dtype: str = "float32",
                     threads: int | None = None) -> Iterator[tts_pb2.SynthesizeResponse]:
    # Imported here: torch and the model code load only when local synthesis is used.
    from tts.checkpoint.loading import CheckpointError, load_config
    from tts.checkpoint.loading import resolve as locate
    from tts.engine.loader import load_engine
    from tts.engine.memory import context_for

    try:
        where = locate(model)
        config = load_config(where.path)
    except (CheckpointError, OSError) as e:
        raise errors.invalid([Violation("model", str(e))]) from None
    caps = config.capabilities(model).with_limits(ServerConfig(model=model).limits)
    req = prepare(synthesis_request(msg, request_id), caps)  # before spending seconds on loading weights
    if req.dry_run:  # no weights needed
        yield from (response(e) for e in ResponsePipeline(req, caps, time.monotonic()).dry_run())
        return
    if threads:
        import torch

        torch.set_num_threads(threads)
    engine = load_engine(where, device=device, dtype=dtype, codec_dtype=codec_dtype, slots=1,
                         max_context=context_for(config, [req]), model_name=model)
    received = time.monotonic()
    try:
        seq = engine.submit(req)
    except InvalidRequest as e:
        raise errors.invalid(e.violations) from None
    pipeline = ResponsePipeline(req, caps, received)
    yield response(pipeline.started(seq.seed))
    frames = engine.run([seq])
    try:
        for frame in frames:
            out = pipeline.frame(frame.pcm, frame.segment)
            if pipeline.cut or frame.ended is not None:  # the duration bound (as the server cuts it), or the end
                out += pipeline.finished(FinishReason.CANCELLED if pipeline.cut else frame.ended.reason, 0.0)
            for event in out:
                yield response(event)
            if pipeline.cut:
                return
    finally:
        frames.close()  # closed early (a cancel, the cut): frees the slot
