"""The 12 Hz codec decoder (16 codes per 80 ms frame -> 1920 samples at 24 kHz), stateful and batched.

The decoder is strictly causal with no look-ahead, so a frame's audio is final as soon as that frame is decoded.
`step` advances every slot of a `CodecState` by T frames at constant cost per frame: each layer carries only the
past it needs (conv left contexts, transposed-conv overlap tails, a 71-frame KV cache per transformer layer)
and nothing is ever re-decoded. The offline `decode` is the same `step` run frame by frame on a fresh 1-slot
state, so streaming and offline output are bit-identical by construction.

`step` is written for a continuous-batching server and for torch.compile(fullgraph=True): static shapes for a
given (B, T), no host synchronisation, no Python branching on tensor values, and no reduction across slots
(each slot's samples depend only on its own codes and state). Each slot keeps its own frame counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from tts.checkpoint.config import CodecConfig
from tts.checkpoint.loading import load_weights
from tts.codec.layers import (
    CausalConv1d,
    CausalTransConv1d,
    ConvNeXtBlock,
    DecoderBlock,
    SnakeBeta,
    run_chain,
)
from tts.codec.quantizer import SplitRVQ
from tts.codec.transformer import PreTransformer
from tts.model.gemv import Product, use_few_row_linears


@dataclass
class CodecState:
    """Decoding state of `batch_size` independent stream slots; every tensor is batch-first, allocated once."""

    pos: torch.Tensor  # [B] int64: frames already decoded in each slot (the next frame's absolute position)
    kv: list[torch.Tensor]  # per transformer layer a key and a value cache [B, heads, window-1, head_dim]
    conv: list[torch.Tensor]  # conv histories and transposed-conv tails, in decoder order

    @property
    def batch_size(self) -> int:
        return self.pos.shape[0]

    def tensors(self) -> list[torch.Tensor]:
        return [self.pos, *self.kv, *self.conv]

    def slot(self, i: int) -> CodecState:
        """Slot `i` as a 1-slot state of views: a step on it advances that slot's stream in place, and it is
        the same computation as the stream's solo `step` (ModelRunner's per-stream codec)."""
        return CodecState(pos=self.pos[i:i + 1], kv=[t[i:i + 1] for t in self.kv],
                          conv=[t[i:i + 1] for t in self.conv])

    def snapshot(self) -> list[torch.Tensor]:
        return [t.clone() for t in self.tensors()]

    def load_slot(self, slot: int, one_slot: list[torch.Tensor]) -> None:
        """Start `slot` from a 1-slot snapshot (a stream primed elsewhere) instead of from zero."""
        for t, src in zip(self.tensors(), one_slot, strict=True):
            t[slot] = src[0].to(device=t.device, dtype=t.dtype)

    def restore(self, snapshot: list[torch.Tensor], rows: torch.Tensor) -> None:
        """Put back the `rows` (bool [B]) of a snapshot: those slots' streams did not advance."""
        for t, old in zip(self.tensors(), snapshot, strict=True):
            t.copy_(torch.where(rows.view(-1, *([1] * (t.dim() - 1))), old, t))


# Present in the released checkpoint but unused when decoding (they project *into* the codebook space).
UNUSED_KEYS = ("decoder.quantizer.rvq_first.input_proj.", "decoder.quantizer.rvq_rest.input_proj.")


class CodecDecoder(nn.Module):
    """Module tree (and so `state_dict` keys) = the checkpoint's keys under `decoder.`."""

    def __init__(self, config: CodecConfig):
        super().__init__()
        c = config
        self.config = config
        self.quantizer = SplitRVQ(c.num_quantizers, c.codebook_size, c.codebook_dim)
        self.pre_conv = CausalConv1d(c.codebook_dim, c.latent_dim, 3)
        self.pre_transformer = PreTransformer(c.transformer, c.latent_dim, c.sliding_window)
        self.upsample = nn.ModuleList(
            nn.ModuleList([CausalTransConv1d(c.latent_dim, c.latent_dim, r, r), ConvNeXtBlock(c.latent_dim)])
            for r in c.upsampling_ratios
        )
        blocks: list[nn.Module] = [CausalConv1d(c.latent_dim, c.decoder_dim, 7)]
        for i, rate in enumerate(c.upsample_rates):
            blocks.append(DecoderBlock(c.decoder_dim >> i, c.decoder_dim >> (i + 1), rate))
        out_dim = c.decoder_dim >> len(c.upsample_rates)
        blocks += [SnakeBeta(out_dim), CausalConv1d(out_dim, 1, 7)]
        self.decoder = nn.ModuleList(blocks)
        # The stateful modules after the transformer, in order (the final SnakeBeta is applied separately), and
        # where each part's tensors start and end in `CodecState.conv` (static Python ints).
        self._post = [m for pair in self.upsample for m in pair] + list(self.decoder[:-2])
        n_pre = len(self.pre_conv.state_shapes(1))
        n_post = sum(len(m.state_shapes(1)) for m in self._post)
        self._conv_split = (n_pre, n_pre + n_post)
        self.requires_grad_(False)  # inference only: keeps autograd out of the in-place state updates

    @property
    def samples_per_frame(self) -> int:
        return self.config.samples_per_frame

    @property
    def dtype(self) -> torch.dtype:
        """The activation (and streaming state) dtype."""
        return self.pre_transformer.input_proj.weight.dtype

    def use_float16_convolutions(self) -> int:
        """Store the convolutions that run as GEMMs in float16: every transposed convolution and every
        convolution wide enough for the im2col GEMM (`CausalConv1d.gemm`, the pre-conv included); returns how
        many. Their inputs are rounded to float16, their products accumulate in float32 inside oneDNN/MKL, and
        their outputs return to the activation dtype; the narrow convolutions (oneDNN's direct kernels),
        SnakeBeta, the ConvNeXt norms and MLPs, residual sums, the transformer and the streaming state stay
        float32.

        Why only those: the GEMMs with few rows (wide early stages, one frame) are bound by their weights'
        bytes, which float16 halves; oneDNN's direct float16 kernels for the narrow late stages are slower than
        its float32 ones on this project's Sapphire Rapids (96 channels x 1926 samples, kernel 7: 2.26 vs
        1.57 ms for 1 slot, 7.94 vs 5.53 ms for 4), so with every convolution in float16 a 4-slot codec step
        took 229 ms, with these only 170 ms (1 slot: 76 vs 77 ms; docs/benchmarks.md). Why float16 and not
        bfloat16: bfloat16's 8-bit mantissa costs too much (31.7 dB SNR against float32 with the convolutions
        in bf16, 35.4 dB with only the GEMM ones, 26.5 dB for the whole codec); float16's 11 bits give 49.9 dB
        (the quality gate asks >= 40; tools/quality_gate.py on the real-dimension random codec). A CPU without
        native float16 would emulate it, far slower than float32: `auto` chooses this only where the CPU has
        AVX512-FP16."""
        convs = self._gemm_convolutions()
        for m in convs:
            m.conv.to(torch.float16)
        return len(convs)

    def use_compiled_gemv(self, product: Product) -> int:
        """Run the float32 weight products that have few rows (FLOAT_GEMV_MAX_ROWS: the pre-transformer, the
        upsampling stages and the first decoder block at a few slots) through `product`, a compiled GEMV
        (tts/model/gemv.py), instead of MKL's GEMM; returns how many modules can. Each call still chooses by
        its row count, which is fixed for a given number of slots, so a stream's samples stay the same bits
        streamed and offline. Why: at 1-8 rows these products are bound by their weights' bytes, and MKL's
        float32 GEMM streams them far below the memory's bandwidth on AMD Zen (1 slot on a 2-core EPYC Zen 5:
        the first decoder block's 75 MB transposed convolution 7.9 ms, 4.6 with MKL_CBWR, 2.2 as the GEMV;
        docs/benchmarks.md). The GEMV
        sums in another order than MKL (float32 rounding, ~1e-6 relative), so only `auto` uses it; float16
        convolutions (AVX512-FP16 CPUs) keep oneDNN's float16 GEMM."""
        few = use_few_row_linears(self, product)
        convs = [m for m in self._gemm_convolutions() if m.conv.weight.dtype == torch.float32]
        for m in convs:
            m.use_product(product)
        return few + len(convs)

    def _gemm_convolutions(self) -> list[CausalConv1d | CausalTransConv1d]:
        """The convolutions that run as GEMMs: every transposed one, and those wide enough for im2col."""
        return [m for m in self.modules()
                if isinstance(m, CausalTransConv1d) or (isinstance(m, CausalConv1d) and m.gemm)]

    # ---------------------------------------------------------------------------------------------- loading

    @classmethod
    def from_checkpoint(
        cls, codec_dir: str | Path, config: CodecConfig, dtype: torch.dtype = torch.float32, device="cpu"
    ) -> CodecDecoder:
        """Load `codec_dir/model.safetensors` (the `speech_tokenizer/` directory) with a strict key/shape check.

        float32 is the default on purpose: bf16 convolutions are ~100x slower on CPUs without native bf16.
        """
        with torch.device("meta"):  # no random init of ~100M parameters that are overwritten anyway
            model = cls(config)
        load_weights(model, Path(codec_dir) / "model.safetensors", dtype, torch.device(device), prefix="decoder.",
                     ignore=UNUSED_KEYS)
        return model.requires_grad_(False).eval()

    # ---------------------------------------------------------------------------------------------- state

    def new_state(self, batch_size: int) -> CodecState:
        """Zeroed state for `batch_size` slots (each one a fresh stream)."""
        p = self.pre_transformer.input_proj.weight  # activation dtype (convolutions may be narrower)
        zeros = lambda shape: torch.zeros(shape, dtype=p.dtype, device=p.device)  # noqa: E731
        conv_shapes = self.pre_conv.state_shapes(batch_size)
        conv_shapes += [s for m in self._post for s in m.state_shapes(batch_size)]
        conv_shapes += self.decoder[-1].state_shapes(batch_size)
        return CodecState(
            pos=torch.zeros(batch_size, dtype=torch.long, device=p.device),
            kv=[zeros(s) for s in self.pre_transformer.state_shapes(batch_size)],
            conv=[zeros(s) for s in conv_shapes],
        )

    @staticmethod
    def reset(state: CodecState, slots: torch.Tensor | list[int]) -> None:
        """Start a new stream in each of `slots`: zero history is exactly the reference's zero padding."""
        slots = torch.as_tensor(slots, dtype=torch.long, device=state.pos.device)
        for t in state.tensors():
            t.index_fill_(0, slots, 0)

    # ---------------------------------------------------------------------------------------------- decoding

    def step(self, codes: torch.Tensor, state: CodecState) -> torch.Tensor:
        """Advance every slot by T frames. codes: [B, T, Q] integers in [0, codebook_size) -> [B, T*1920] float32.

        Slots that carry no stream still compute (on whatever codes they are given); reset them before reuse.
        """
        a, b = self._conv_split
        latent = self.quantizer(codes)  # [B, T, codebook_dim]
        x = self.pre_conv(latent.transpose(1, 2), state.conv[:a])  # [B, latent, T]
        x = self.pre_transformer(x.transpose(1, 2), state.pos, state.kv).transpose(1, 2)
        x = run_chain(self._post, x, state.conv[a:b])
        x = self.decoder[-1](self.decoder[-2](x), state.conv[b:])  # [B, 1, T*1920]
        state.pos.add_(codes.shape[1])
        return x[:, 0].clamp(-1.0, 1.0).float()

    @torch.no_grad()
    def primed_state(self, codes: torch.Tensor) -> list[torch.Tensor]:
        """The 1-slot state after decoding `codes` [T, Q] frame by frame (the samples are not kept): a stream
        started from it continues the audio of these codes, as if they had been decoded just before."""
        state = self.new_state(1)
        codes = codes.to(state.pos.device)
        for t in range(codes.shape[0]):
            self.step(codes[None, t : t + 1], state)
        return state.snapshot()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Whole utterance, codes [T, Q] -> [T*1920] float32: `step` over a fresh 1-slot state, one frame at a time."""
        q, size = self.config.num_quantizers, self.config.codebook_size
        if codes.dim() != 2 or codes.shape[1] != q:
            raise ValueError(f"codes must be [frames, {q}], got {list(codes.shape)}")
        if codes.numel() and not (0 <= int(codes.min()) and int(codes.max()) < size):
            raise ValueError(f"codes must lie in [0, {size})")
        spf = self.samples_per_frame
        state = self.new_state(1)
        out = torch.empty(codes.shape[0] * spf, dtype=torch.float32, device=state.pos.device)
        codes = codes.to(state.pos.device)
        for t in range(codes.shape[0]):
            out[t * spf : (t + 1) * spf] = self.step(codes[None, t : t + 1], state)[0]
        return out
