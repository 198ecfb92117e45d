"""Quality gate of the low-precision modes against float32, on a real-dimension random checkpoint.

    python -m tools.quality_gate [--checkpoint DIR] [--frames 200] [--modes int8 auto bf16]   (make quality-gate)

Random weights cannot be listened to, so the gate measures numerics (docs/benchmarks.md has the figures):
- teacher-forced decoding: the float32 model decodes greedily (EOS banned) for `--frames` frames; the candidate
  is fed exactly the same codes, so every comparison is like for like and errors cannot compound through
  different codes. Per talker and code-predictor layer the cosine similarity of the hidden states (prompt
  positions and every frame), the KL divergence KL(p32 || p) of the talker's codebook-0 logits and of the
  predictor's 15 codebook logits, and how often the candidate's argmax equals float32's (greedy-code agreement)
  per codebook;
- free running (`--free-frames`): both engines synthesise the same greedy request alone; the frames until the
  first differing code, and the fraction of equal codes (random weights are chaotic: one different code and
  the two streams part for good, so this says little beyond the teacher-forced agreement);
- codec: the float32 codes decoded by the float32 codec and by the candidate's codec, SNR in dB (under `auto`
  with its few-row float32 products through the compiled GEMV, as served: `CodecDecoder.use_compiled_gemv`).
Gate: every layer's cosine >= 0.999 (the minimum over positions) and codec SNR >= 40 dB; KL and agreement are
reported. The candidate runs eagerly here (its int8 linears widen into a GEMM): the compiled int8 GEMV sums in
another order, a difference far below the quantisation error measured here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from contract.request import GREEDY, SynthesisRequest
from tts.engine.engine import Engine
from tts.engine.loader import load_engine
from tts.engine.precision import choose_precision
from tts.engine.runner import compiled_gemv

DEFAULT_CKPT = Path(".cache/checkpoints/real-0.6b-cv")
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs far away into the forest."
COSINE_MIN, SNR_MIN_DB = 0.999, 40.0
MODES = {  # name -> load_engine arguments ("auto" is spelled out: what auto picks here, without compiling)
    "int8": dict(quantization="int8"),
    "auto": None,
    "bf16": dict(dtype="bfloat16"),
    "int8-bf16": dict(dtype="bfloat16", quantization="int8"),
    "codec-fp16": dict(codec_dtype="float16"),
}


def mode_arguments(mode: str) -> dict:
    if MODES[mode] is not None:
        return MODES[mode]
    p = choose_precision(quantization="auto")
    return dict(dtype=p.activations, codec_dtype=p.codec, quantization="int8" if p.talker == "int8" else "none")


class LayerTaps:
    """Forward hooks that keep each decoder layer's output (talker and predictor) for the current call."""

    def __init__(self, engine: Engine):
        talker = engine.model.talker
        self.layers = {f"talker.{i}": m for i, m in enumerate(talker.model.layers)}
        self.layers |= {f"predictor.{i}": m for i, m in enumerate(talker.code_predictor.model.layers)}
        self.out: dict[str, list[torch.Tensor]] = {k: [] for k in self.layers}
        self.handles = [m.register_forward_hook(lambda _m, _a, y, name=name: self.out[name].append(y.detach().float()))
                        for name, m in self.layers.items()]

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def take(self) -> dict[str, torch.Tensor]:
        """Every output since the last take, as [positions, hidden] per layer."""
        got = {k: torch.cat([y.reshape(-1, y.shape[-1]) for y in v]) for k, v in self.out.items() if v}
        for v in self.out.values():
            v.clear()
        return got


def _kl(ref_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(p_ref || p) per row, finite ids only (banned ids are -inf in both)."""
    lp_ref, lp = F.log_softmax(ref_logits.float(), -1), F.log_softmax(logits.float(), -1)
    p_ref = lp_ref.exp()
    return torch.where(p_ref > 0, p_ref * (lp_ref - lp), torch.zeros_like(p_ref)).sum(-1)


@torch.inference_mode()
def teacher_forced(ref: Engine, cand: Engine, frames: int) -> dict:
    """Both models on the same prompt and the same (float32 greedy) codes; see the module docstring."""
    req = SynthesisRequest(text=TEXT, voice="ryan", language="english", sampling=GREEDY,
                           max_audio_duration_ms=frames * 80)
    taps = {"ref": LayerTaps(ref), "cand": LayerTaps(cand)}
    cos: dict[str, list[float]] = {}
    kl_talker, kl_pred, agree = [], [], np.zeros(16)
    codes_out = []
    models = {"ref": ref.model, "cand": cand.model}
    for e in (ref, cand):
        e.model.allocate(1, 512, max_text=512)
    prompt = {}
    for k, e in (("ref", ref), ("cand", cand)):  # the engine builds the prompt; this loop drives the model itself
        seq = e.submit(req)
        prompt[k] = e.runner.prompts[seq.seq_id]
        e.cancel(seq.seq_id)

    def compare_layers() -> None:
        a, b = taps["ref"].take(), taps["cand"].take()
        for name in a:
            c = F.cosine_similarity(a[name], b[name].to(a[name].dtype), dim=-1)
            cos.setdefault(name, []).append(c.min().item())

    hidden = {k: models[k].prefill_chunk(prompt[k].embeds.to(models[k].dtype), 0, 0)[-1:] for k in models}
    compare_layers()
    n_prompt = prompt["ref"].length
    text = {k: prompt[k].trailing for k in models}
    eos, suppress = ref.config.talker.codec_eos_id, ref.model.suppress_mask.clone()
    suppress[eos] = True
    for t in range(frames):
        logits = {k: models[k].talker.codec_head(hidden[k]).float().masked_fill(suppress, -torch.inf) for k in models}
        kl_talker.append(_kl(logits["ref"], logits["cand"]).item())
        code0 = logits["ref"].argmax(-1)
        agree[0] += int(logits["cand"].argmax(-1).item() == code0.item())
        frame = [code0]
        sub_logits: dict[str, list[torch.Tensor]] = {"ref": [], "cand": []}

        for k in models:
            def forced(lg: torch.Tensor, cb: int, k=k, frame=frame, seen=sub_logits[k]) -> torch.Tensor:
                """The predictor's sampler: keep the logits, answer float32's greedy code."""
                seen.append(lg)
                if k == "ref":
                    frame.append(lg.argmax(-1))
                return frame[cb]
            talker = models[k].talker
            talker.code_predictor(hidden[k].to(models[k].dtype), talker.codec(code0), forced)
        for cb, (lr, lc) in enumerate(zip(sub_logits["ref"], sub_logits["cand"], strict=True), start=1):
            kl_pred.append(_kl(lr, lc).item())
            agree[cb] += int(lc.argmax(-1).item() == lr.argmax(-1).item())
        codes = torch.stack(frame, dim=-1)  # [1, 16]
        codes_out.append(codes[0])
        for k in models:
            m = models[k]
            tr = text[k]
            x = m.talker.frame_embedding(codes) + (tr[t:t + 1] if t < tr.shape[0] else m.tts_pad[None])
            pos = torch.tensor([[n_prompt + t]])
            mask = (torch.arange(n_prompt + t + 1) <= pos).view(1, 1, 1, -1)
            hidden[k] = m.talker.model(x.to(m.dtype).unsqueeze(1), pos, slice(0, 1), mask)[:, 0]
        compare_layers()
    for tap in taps.values():
        tap.remove()
    per_layer = {name: min(v) for name, v in cos.items()}
    return {
        "frames": frames,
        "min_cosine": min(per_layer.values()),
        "worst_layer": min(per_layer, key=per_layer.get),
        "cosine_per_layer": {k: round(v, 6) for k, v in per_layer.items()},
        "talker_logits_kl_mean": float(np.mean(kl_talker)), "talker_logits_kl_max": float(np.max(kl_talker)),
        "predictor_logits_kl_mean": float(np.mean(kl_pred)), "predictor_logits_kl_max": float(np.max(kl_pred)),
        "greedy_agreement_codebook0": agree[0] / frames,
        "greedy_agreement_codebooks1_15": float(agree[1:].sum() / (15 * frames)),
        "codes": torch.stack(codes_out),
    }


@torch.inference_mode()
def free_running(ref: Engine, cand: Engine, frames: int) -> dict:
    req = SynthesisRequest(text=TEXT, voice="ryan", language="english", sampling=GREEDY,
                           max_audio_duration_ms=frames * 80)
    out = []
    for e in (ref, cand):
        e.model.allocate(e.slots, e.max_context, max_text=e.max_context)
        e.runner.codec_state = e.runner.codec.new_state(e.slots)
        e.model.suppress_mask[e.config.talker.codec_eos_id] = True
        out.append(e.synthesize(req).codes)
    a, b = out
    n = min(len(a), len(b))
    differ = np.nonzero((a[:n] != b[:n]).any(axis=1))[0]
    return {"identical_frames_before_first_difference": int(differ[0]) if len(differ) else n,
            "equal_codes_fraction": float((a[:n] == b[:n]).mean())}


@torch.inference_mode()
def codec_snr(ref: Engine, cand: Engine, codes: torch.Tensor) -> float:
    a = ref.runner.codec.decode(codes)
    b = cand.runner.codec.decode(codes)
    return float(10 * torch.log10(a.pow(2).mean() / (a - b).pow(2).mean().clamp(min=1e-30)))


def gate(mode: str, checkpoint: Path, frames: int, ref: Engine | None = None, free_frames: int = 0) -> dict:
    """The gate's figures for one mode; `free_frames` > 0 adds the free-running comparison (slow: both engines
    synthesise eagerly, the candidate's int8 linears through their widening GEMM)."""
    ref = ref or load_engine(str(checkpoint), slots=1, max_context=512)
    cand = load_engine(str(checkpoint), slots=1, max_context=512, **mode_arguments(mode))
    if mode == "auto" and choose_precision(quantization="auto").compile_step:
        cand.runner.codec.use_compiled_gemv(compiled_gemv())
    t0 = time.perf_counter()
    tf = teacher_forced(ref, cand, frames)
    codes = tf.pop("codes")
    result = {"mode": mode, "precision": cand.precision.describe(), **tf, "codec_snr_db": codec_snr(ref, cand, codes)}
    result["passed"] = result["min_cosine"] >= COSINE_MIN and result["codec_snr_db"] >= SNR_MIN_DB
    if free_frames:
        result |= free_running(ref, cand, free_frames)
    result["seconds"] = time.perf_counter() - t0
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--modes", nargs="+", default=["int8", "auto"], choices=list(MODES))
    ap.add_argument("--free-frames", type=int, default=50, help="free-running comparison length (0: skip)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.checkpoint / "config.json").is_file():
        from tools.make_checkpoint import make_checkpoint

        make_checkpoint("real-0.6b-cv", args.checkpoint, seed=0)
    ref = load_engine(str(args.checkpoint), slots=1, max_context=512)
    failed = []
    for mode in args.modes:
        r = gate(mode, args.checkpoint, args.frames, ref, args.free_frames)
        print(json.dumps(r, indent=1))
        print(f"{mode}: min layer cosine {r['min_cosine']:.5f} ({r['worst_layer']}), talker KL mean "
              f"{r['talker_logits_kl_mean']:.2e}, predictor KL mean {r['predictor_logits_kl_mean']:.2e}, greedy "
              f"agreement cb0 {r['greedy_agreement_codebook0']:.1%} cb1-15 {r['greedy_agreement_codebooks1_15']:.1%}, "
              f"free-running identical frames {r.get('identical_frames_before_first_difference', '-')}, codec SNR "
              f"{r['codec_snr_db']:.1f} dB -> {'PASS' if r['passed'] else 'FAIL'}", flush=True)
        if not r["passed"]:
            failed.append(mode)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
