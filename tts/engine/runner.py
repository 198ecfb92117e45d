"""The model runner: turns scheduled sequences into tensors, runs the model and the codec, returns host data.

It owns every device tensor of the engine: the model with its static caches and slot state, the codec decoder
with its per-slot streaming state, and each admitted sequence's prompt. The host reads results back once per
step, after the step's device work (the decode step itself never synchronises).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from tts.codec.decoder import CodecDecoder
from tts.engine.graphs import CUDA_KV_BUCKET, StaticSteps, kv_bucket_for, kv_buckets, row_buckets
from tts.engine.scheduler import Plan
from tts.engine.sequence import Sequence
from tts.model.gemv import Product, gemv
from tts.model.layers import store_linear_weights_transposed
from tts.model.quantized import Int8Linear, decodes_int8_only, has_int8
from tts.model.qwen3_tts import Qwen3TTSModel
from tts.prompt.builder import Prompt

# Distinct graphs one region may need: row buckets x (talker token, predictor's 2-token and 1-token passes) x
# prompt chunks; dynamo's default limit (8 per code object, shared by every decoder layer) is too few.
REGION_GRAPHS = 64
# Inductor options of every region: C++ wrappers (no Python glue per call) and multiply-adds contracted into FMAs
# (one instruction instead of two in the int8 GEMV's inner loop, which is bound by instructions, not memory,
# once several rows share it; rounding changes, once, within the int8 mode only).
REGION_OPTIONS = {"cpp_wrapper": True, "cpp.enable_floating_point_contract_flag": "fast"}


def compile_regions(model: Qwen3TTSModel) -> int:
    """Compile the code predictor's decoder stack, every talker decoder layer, every int8 head and the sampler
    (fullgraph each, REGION_OPTIONS); the step around them stays eager. Returns how many regions were compiled.

    Why not the whole step: with int8 linears every weight product is an inductor reduction instead of an
    extern GEMM, ~750 of them per frame, and inductor's fusion pass over one graph that size ran > 30 minutes
    on 2 cores without finishing. Regions of one shape share their compiled code (their weights are graph
    inputs): the 28 talker layers one graph, the predictor's 5-layer stack another (one call per predictor
    pass instead of five: each compiled call costs ~0.2 ms of guards and wrapper). The C++ wrapper
    (`cpp_wrapper`) replaces inductor's Python glue around the kernels (buffer allocation, argument checks):
    ~0.1 ms per call. Cold compile of a 1-slot engine: ~2.5 minutes on 2 cores (each further row bucket adds
    its own graphs); inductor's cache makes later starts take seconds."""
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, REGION_GRAPHS)
    talker = model.talker
    regions = [talker.code_predictor.model, *talker.model.layers]
    inside = {id(q) for region in regions for q in region.modules()}
    regions += [m for m in talker.modules() if isinstance(m, Int8Linear) and id(m) not in inside]
    for m in regions:
        m.compile(fullgraph=True, options=REGION_OPTIONS)
    model.choose = torch.compile(model.choose, fullgraph=True, options=REGION_OPTIONS)
    return len(regions) + 1


# The codec's GEMV compiles once per (rows, in, out) it meets: ~10 shapes per slot count for the 12 Hz codec, all
# on one code object, in every engine of the process.
GEMV_GRAPHS = 256


def compiled_gemv() -> Product:
    """tts/model/gemv.py's GEMV compiled on its own (static shapes, REGION_OPTIONS), for the codec."""
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, GEMV_GRAPHS)
    torch._dynamo.config.accumulated_cache_size_limit = max(torch._dynamo.config.accumulated_cache_size_limit,
                                                            GEMV_GRAPHS)
    return torch.compile(gemv, fullgraph=True, dynamic=False, options=REGION_OPTIONS)


KV_BUCKET = 64  # attended cache length is rounded up to this (CUDA graphs: CUDA_KV_BUCKET), so few shapes occur
# From this many slots on, float32 talker weights on CPU are stored transposed (see
# store_linear_weights_transposed): a batched decode step's GEMMs then run ~1.2x faster, and a row's result
# is the same bits for any number of rows from 2 to 32 (measured for every weight shape of both model sizes),
# which is what lets the step cover fewer rows than slots without changing anyone's audio.
TRANSPOSED_WEIGHTS_MIN_SLOTS = 2
CODEC_BATCHING = ("auto", "per-stream", "all-slots")  # see ModelRunner.set_codec_batching


@dataclass
class StepOutput:
    codes: np.ndarray  # int64 [slots, 16] frame emitted by each slot this step
    next_code0: np.ndarray  # int64 [slots] codebook 0 of each slot's next frame (EOS = that slot ends)
    pcm: np.ndarray  # float32 [slots, samples_per_frame]


class ModelRunner:
    def __init__(self, model: Qwen3TTSModel, codec: CodecDecoder, slots: int, max_context: int):
        self.model, self.codec = model, codec
        self.slots, self.max_context = slots, max_context
        self.device = model.device
        if (self.device.type == "cpu" and model.dtype == torch.float32
                and slots >= TRANSPOSED_WEIGHTS_MIN_SLOTS):
            store_linear_weights_transposed(model.talker)
        model.allocate(slots, max_context, max_text=max_context)
        self.codec_state = codec.new_state(slots)
        self.prompts: dict[int, Prompt] = {}
        self.set_apart: dict[int, list[torch.Tensor]] = {}  # parked sequences' codec states (1-slot snapshots)
        self._decode_step = model.decode_step
        self._compiled = False
        self.min_rows = 2  # see decode_rows
        self._key_positions = torch.arange(max_context, device=self.device)
        self.kv_bucket = KV_BUCKET
        self.graphs: StaticSteps | None = None  # captured steps (CUDA graphs), when capture_graphs() ran
        self._all_slots = torch.ones(slots, dtype=torch.bool, device=self.device)
        self._host: dict[tuple, list[torch.Tensor]] = {}  # pinned host buffers of the step outputs, by shape (CUDA)
        self.set_codec_batching("auto")  # sets codec_per_stream (see _step)
        # Cumulative wall seconds per phase, host-side: exact on CPU; on CUDA the read-back at the end of decode()
        # is the sync, and a replayed graph's codec share stays inside "decode".
        self.seconds = {"prefill": 0.0, "decode": 0.0, "codec": 0.0}

    def decode_rows(self, highest_slot: int) -> int:
        """How many leading slots a decode step covers: the smallest bucket (2, 4, 8, ... capped at `slots`)
        that holds every occupied slot. On a CPU a step's cost grows with its rows (real 0.6B, float32: 0.57 s
        at 2 rows, 0.68 s at 8), so one stream on an 8-slot engine should not pay for 8; on a GPU the few buckets are the few CUDA
        graphs to capture. Never 1 row on a multi-slot engine unless every decode product is the compiled int8
        GEMV (`min_rows`, set by `compile`): a 1-row float GEMM takes another kernel (GEMV) whose rounding
        differs, and a request must give the same bits alone and in company."""
        rows = min(self.min_rows, self.slots)
        while rows <= highest_slot:
            rows *= 2
        return min(rows, self.slots)

    def set_codec_batching(self, mode: str) -> None:
        """How the codec steps (see `_step`): `per-stream` (each decoding stream alone: latency at low load,
        idle slots free), `all-slots` (every slot in one batched step: throughput at full load, the shape a
        CUDA graph captures, so graphs replay only then), or `auto`: per stream on a CPU, all slots on CUDA.
        On 2 Zen 5 cores, real 0.6B, `auto` quantization: one stream on 8 slots 190 vs 418 ms per frame (its
        codec 59 vs 270 ms), 4 streams on 4 slots 9.3 vs 13.1 frames/s in total (docs/benchmarks.md)."""
        if mode not in CODEC_BATCHING:
            raise ValueError(f"codec batching {mode!r} is not one of {', '.join(CODEC_BATCHING)}")
        self.codec_per_stream = mode == "per-stream" or (mode == "auto" and self.device.type == "cpu")

    def compile(self) -> None:
        """Compile the batched decode step (whole frame: predictor, talker, sampling) as one graph.

        Shapes are static except the attended cache length, which is marked dynamic: the step compiles at most
        once per row bucket it meets (2, 4, 8, ...), never once per length; warm the buckets before serving. The first compile
        of the real 0.6B model takes minutes on 2 CPU cores; inductor's cache makes later starts take seconds.

        With int8 weights the regions are compiled instead of the whole step (`compile_regions`), and the codec's
        few-row float32 products run through a compiled GEMV (`CodecDecoder.use_compiled_gemv`). Once: a
        second call changes nothing."""
        if self._compiled:
            return
        if has_int8(self.model):
            compile_regions(self.model)
            if decodes_int8_only(self.model):
                # The GEMV sums each row alone (tts/model/gemv.py): one row gets the same bits as in a bucket
                # of 2, 4 or 8, and a lone int8 stream skips a second row that costs it ~1.6x (real 0.6B, an
                # 8-slot engine on 2 cores of a Zen 5: 132 vs 81 ms per frame; docs/benchmarks.md).
                self.min_rows = 1
            self.codec.use_compiled_gemv(compiled_gemv())
        else:
            self._decode_step = torch.compile(self.model.decode_step, fullgraph=True)
        self._compiled = True

    @property
    def compiled(self) -> bool:
        return self._compiled

    def run(self, plan: Plan) -> StepOutput | None:
        """The second beat of a step: the plan's admissions, prefill chunks and decode, as tensors."""
        for seq in plan.admitted:
            self.admit(seq)
        for chunk in plan.prefill:
            self.prefill(chunk.seq, chunk.start, chunk.length)
        return self.decode(plan.decode, plan.hold) if plan.decode else None

    def stage(self, seq: Sequence, prompt: Prompt) -> None:
        """Keep a submitted sequence's prompt until its prefill completes."""
        self.prompts[seq.seq_id] = prompt

    @torch.inference_mode()
    def admit(self, seq: Sequence) -> None:
        """Write a sequence's parameters, its segment's seed and text track into its slot; at its first segment
        also reset the slot's codec (later segments continue the same codec stream: no seam)."""
        st, slot, s = self.model.state, seq.slot, seq.sampling
        prompt = self.prompts[seq.seq_id]
        st.seed[slot] = seq.segment_seed
        st.repetition_penalty[slot] = s.repetition_penalty
        st.talker_sampling.write(slot, s.talker)
        st.predictor_sampling.write(slot, s.predictor)
        n = prompt.trailing.shape[0]
        st.text[slot, :n] = prompt.trailing
        st.text_len[slot] = n
        # Until its prompt is in, the slot rides along in decode steps (static shapes); park its throw-away
        # key/value writes at the last cache position, which is rewritten before it is ever attended.
        st.position[slot] = self.max_context - 1
        saved = self.set_apart.pop(seq.seq_id, None)
        if saved is not None:  # a parked sequence back in a slot: its codec stream goes on where it stopped
            self.codec_state.load_slot(slot, saved)
            return
        if seq.segment > 0:  # the next segment in the same slot: the codec stream simply goes on
            return
        if prompt.codec_prime is not None:  # an ICL voice: continue from its reference audio
            self.codec_state.load_slot(slot, prompt.codec_prime)
        else:
            self.codec.reset(self.codec_state, torch.tensor([slot], device=self.device))

    def set_aside(self, seq: Sequence, slot: int) -> None:
        """A sequence parks: keep its slot's codec state (1-slot snapshot) for when it is admitted again."""
        self.set_apart[seq.seq_id] = [t[slot:slot + 1].clone() for t in self.codec_state.tensors()]

    def release(self, seq: Sequence) -> None:
        """Drop what the runner holds for a sequence (its staged prompt; its set-aside codec state once ended)."""
        self.prompts.pop(seq.seq_id, None)
        if seq.finished:
            self.set_apart.pop(seq.seq_id, None)

    @torch.inference_mode()
    def prefill(self, seq: Sequence, start: int, length: int) -> None:
        t0 = time.perf_counter()
        prompt = self.prompts[seq.seq_id]
        hidden = self.model.prefill_chunk(prompt.embeds[start:start + length], seq.slot, start)
        if start + length == prompt.length:
            self.model.first_code(hidden[-1], seq.slot, prompt.length)
            del self.prompts[seq.seq_id]
        self.seconds["prefill"] += time.perf_counter() - t0

    @torch.inference_mode()
    def decode(self, seqs: list[Sequence], hold: list[Sequence]) -> StepOutput:
        """One frame for each of `seqs`; `hold`: other occupied slots (paused or prefilling), whose codec
        state must not move (when the codec steps every slot, see `_step`)."""
        rows = self.decode_rows(max(s.slot for s in (*seqs, *hold)))
        active = torch.zeros(rows, dtype=torch.bool)
        active[[s.slot for s in seqs]] = True
        held = torch.zeros(self.slots, dtype=torch.bool)
        held[[s.slot for s in hold]] = True
        kv_len = kv_bucket_for(max(s.prompt_len + s.frames for s in seqs) + 1, self.kv_bucket, self.max_context)
        t0, codec_before = time.perf_counter(), self.seconds["codec"]
        if self.graphs is not None and not self.codec_per_stream and self.graphs.has(rows, kv_len):
            codes, nxt, pcm = self.graphs.replay(active, kv_len, held)
        else:
            keys = self._key_positions[:kv_len]
            if self._compiled:
                torch._dynamo.mark_dynamic(keys, 0)
            streams = sorted(s.slot for s in seqs) if self.codec_per_stream else None
            codes, nxt, pcm = self._step(active.to(self.device), keys, held.to(self.device) if hold else None,
                                         streams)
        out = StepOutput(*self._to_host(codes, nxt, pcm.float()))  # the step's one sync
        self.seconds["decode"] += time.perf_counter() - t0 - (self.seconds["codec"] - codec_before)
        return out

    def _to_host(self, *tensors: torch.Tensor) -> list[np.ndarray]:
        """A step's outputs as host arrays. On CUDA through pinned buffers (reused: the engine copies what it
        keeps before the next step), copied asynchronously and waited for once."""
        if self.device.type != "cuda":
            return [t.cpu().numpy() for t in tensors]
        key = tuple((t.shape, t.dtype) for t in tensors)
        if key not in self._host:
            self._host[key] = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for t in tensors]
        buffers = self._host[key]
        for b, t in zip(buffers, tensors, strict=True):
            b.copy_(t, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return [b.numpy() for b in buffers]

    def _step(self, active: torch.Tensor, keys: torch.Tensor, held: torch.Tensor | None,
              streams: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The device work of a step, top to bottom, no host sync: the model's decode step over the leading
        `active.shape[0]` rows, then the codec.

        The codec is not batch-invariant: its products and convolutions round a stream's samples differently
        in the last bits with the number of slots they run over (MKL's GEMMs pick other blockings by row
        count, and so does the compiled GEMV at some shapes). So it either steps every slot together
        (`streams` None: the static shape a CUDA graph captures; `held` slots get their codec state back, None
        meaning none is held, an eager step's shortcut), or, with `streams` (the slots that emit a frame;
        `codec_per_stream`), each of those slots alone, on a 1-slot view of the state: the very computation of
        the stream's solo `CodecDecoder.decode`, whoever else decodes, and idle or held slots cost nothing. On
        2 CPU cores the codec step of the real 12 Hz codec takes ~50-57 ms per slot (the 1-slot step) against
        ~93 / 137 / 297 ms for all 2 / 4 / 8 slots batched (docs/benchmarks.md): one stream on an 8-slot
        engine paid 270-297 ms per 80 ms frame for the slots it did not use. Rows that emit no frame may hold
        anything (a finished slot's code 0 is EOS, outside the codebook)."""
        codes, nxt = self._decode_step(active, keys)
        t0 = time.perf_counter()
        if streams is not None:
            pcm = torch.zeros(self.slots, self.codec.samples_per_frame, device=codes.device)
            for slot in streams:
                pcm[slot] = self.codec.step(codes[slot:slot + 1, None], self.codec_state.slot(slot))[0]
            self.seconds["codec"] += time.perf_counter() - t0
            return codes, nxt, pcm
        kept = self.codec_state.snapshot() if held is not None else None
        frames = torch.zeros(self.slots, codes.shape[1], dtype=codes.dtype, device=codes.device)
        frames[:active.shape[0]] = torch.where(active.unsqueeze(1), codes, 0)
        pcm = self.codec.step(frames.unsqueeze(1), self.codec_state)
        if kept is not None:
            self.codec_state.restore(kept, held)
        self.seconds["codec"] += time.perf_counter() - t0
        return codes, nxt, pcm

    def capture_graphs(self) -> int:
        """CUDA only: capture the step as a CUDA graph for every (row bucket, cache-length bucket) it can meet
        (tts/engine/graphs.py); later steps of those shapes replay them. Returns how many were captured."""
        if self.device.type != "cuda":
            raise ValueError("CUDA graphs need a CUDA device")
        self.kv_bucket = CUDA_KV_BUCKET
        self.graphs = StaticSteps(self._step, self.slots, self.device, self.codec_state.snapshot,
                                  lambda saved: self.codec_state.restore(saved, self._all_slots))
        return self.graphs.capture_all(row_buckets(self.slots), kv_buckets(self.max_context, self.kv_bucket))
