"""The acoustic model as the engine drives it: prefill a slot, then batched per-frame decode steps.

One decode step advances every active slot among the leading rows by one frame, top to bottom:
  1. code predictor: codebooks 1..15 of the pending frame from (talker hidden, code 0), 15 lock-step passes;
  2. next talker input: sum of the frame's 16 codebook embeddings + the slot's next text-track vector;
  3. one talker token per slot at the slot's own position in the static KV cache;
  4. codebook 0 of the next frame through the official logits pipeline and the slot's own random stream.
Nothing in the step branches on tensor values or reads them back to the host; shapes depend only on the
number of slots and the attended cache length, so the step compiles with torch.compile(fullgraph=True).
"""

from __future__ import annotations

import torch
from torch import nn

from tts.checkpoint.config import ModelConfig
from tts.model.sampling import ban_tokens, choose, penalize_repetition
from tts.model.slot_state import SlotState
from tts.model.talker import Talker

# The official generate() bans EOS until two codebook-0 tokens exist, so every utterance has >= 2 frames.
MIN_NEW_TOKENS = 2


class Qwen3TTSModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        t = config.talker
        self.talker = Talker(config)
        self.eos_id = t.codec_eos_id
        self.num_code_groups = t.num_code_groups
        # Runtime tensors, built by allocate() on the weights' device (the module may be built on 'meta').
        self.suppress_mask = self.eos_mask = self.tts_pad = None
        self.state: SlotState | None = None
        # The sampler of every codebook; compile_regions (tts/engine/runner.py) swaps in a compiled one.
        self.choose = choose

    # ------------------------------------------------------------------ setup
    def allocate(self, slots: int, max_context: int, max_text: int) -> None:
        """Allocate the static caches and slot state for `slots` concurrent sequences."""
        # The codec embedding is never quantised: it carries the activation dtype and the device.
        p = self.talker.model.codec_embedding.weight
        t = self.config.talker
        # Only codebook-0 codes (ids below vocab - 1024) and EOS may be sampled.
        self.suppress_mask = torch.zeros(t.vocab_size, dtype=torch.bool, device=p.device)
        self.suppress_mask[t.vocab_size - 1024:] = True
        self.suppress_mask[t.codec_eos_id] = False
        self.eos_mask = torch.zeros(t.vocab_size, dtype=torch.bool, device=p.device)
        self.eos_mask[t.codec_eos_id] = True
        self.talker.model.allocate(slots, max_context, p.dtype, p.device)
        self.talker.code_predictor.allocate(slots, p.dtype, p.device)
        self.state = SlotState.allocate(self.config, slots, max_text, p.dtype, p.device)
        self.tts_pad = self.special_text_vectors()[2]

    @torch.inference_mode()
    def special_text_vectors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """T(tts_bos), T(tts_eos), T(tts_pad), projected together as the official code does (same rounding)."""
        c = self.config
        ids = torch.tensor([[c.tts_bos_id, c.tts_eos_id, c.tts_pad_id]], device=self.device)
        bos, eos, pad = self.talker.text(ids)[0]
        return bos, eos, pad

    @property
    def device(self) -> torch.device:
        return self.talker.model.codec_embedding.weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The activation dtype (int8-quantised linears keep their weights apart)."""
        return self.talker.model.codec_embedding.weight.dtype

    @property
    def max_context(self) -> int:
        return self.talker.model.max_context

    # ------------------------------------------------------------------ prefill
    def prefill_chunk(self, embeds: torch.Tensor, slot: int, start: int) -> torch.Tensor:
        """Run prompt positions [start, start + n) of one slot; returns their normed hidden states [n, D]."""
        n = embeds.shape[0]
        device = embeds.device
        positions = torch.arange(start, start + n, device=device).unsqueeze(0)
        keys = torch.arange(start + n, device=device)
        mask = (keys.unsqueeze(0) <= positions.view(n, 1)).view(1, 1, n, start + n)
        return self.talker.model(embeds.unsqueeze(0), positions, slice(slot, slot + 1), mask)[0]

    def first_code(self, hidden_last: torch.Tensor, slot: int, prompt_len: int) -> None:
        """After a slot's prompt is in the cache: sample codebook 0 of frame 0 and arm the slot for decoding.
        The slot's sampling parameters, seed and text track must already be written."""
        st = self.state
        idx = slice(slot, slot + 1)
        st.seen[idx] = False
        logits = self.talker.codec_head(hidden_last.unsqueeze(0)).float()
        processed = self._talker_logits(logits, st.seen[idx], st.repetition_penalty[idx],
                                        torch.zeros(1, dtype=torch.int64, device=logits.device))
        sampling = st.talker_sampling.select(idx)
        code = self.choose(processed, sampling, st.seed[idx], torch.zeros_like(st.seed[idx]), stream=0)
        st.hidden[idx] = hidden_last.unsqueeze(0)
        st.code0[idx] = code
        st.seen[idx].scatter_(1, code.unsqueeze(1), True)
        st.step[idx] = 0
        st.position[idx] = prompt_len

    # ------------------------------------------------------------------ decode
    def decode_step(self, active: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance every active slot one frame. `active`: bool [R], R <= slots: the step covers slots [0, R)
        (the caller picks R from a few buckets, so there are few static shapes); the True ones emit a frame
        this step (free and paused slots among the R compute too but keep their state); `keys`: arange(kv_len),
        the cache positions to attend (kv_len >= max position + 1 over active slots; a tensor so a compiled step
        can treat its length as dynamic). Returns (frame codes [R, 16], next codebook-0 token [R]); a slot
        whose next token is EOS ends after this frame."""
        rows = active.shape[0]
        st, talker = self.state.head(rows), self.talker
        ar = torch.arange(rows, device=active.device)

        def sample_sub(logits: torch.Tensor, k: int) -> torch.Tensor:
            return self.choose(logits, st.predictor_sampling, st.seed, st.step, stream=k)

        sub = talker.code_predictor(st.hidden, talker.codec(st.code0), sample_sub)
        codes = torch.cat((st.code0.unsqueeze(1), sub), dim=1)

        has_text = st.step < st.text_len
        text = st.text[ar, st.step.clamp(max=st.max_text - 1)]
        x = talker.frame_embedding(codes) + torch.where(has_text.unsqueeze(1), text, self.tts_pad)

        positions = st.position.clamp(max=self.max_context - 1).unsqueeze(1)
        mask = (keys.unsqueeze(0) <= positions).unsqueeze(1).unsqueeze(1)
        hidden = talker.model(x.unsqueeze(1), positions, slice(0, rows), mask)[:, 0]

        logits = talker.codec_head(hidden).float()
        processed = self._talker_logits(logits, st.seen, st.repetition_penalty, st.step + 1)
        nxt = self.choose(processed, st.talker_sampling, st.seed, st.step + 1, stream=0)

        # Only active slots advance: a paused slot (its consumer is not reading) keeps its state exactly, and the
        # key/value it wrote at its unchanged position is rewritten by its next real step before being attended.
        st.seen.logical_or_(torch.zeros_like(st.seen).scatter_(1, nxt.unsqueeze(1), active.unsqueeze(1)))
        st.hidden.copy_(torch.where(active.unsqueeze(1), hidden, st.hidden))
        st.code0.copy_(torch.where(active, nxt, st.code0))
        step_inc = active.to(torch.int64)
        st.position.add_(step_inc)
        st.step.add_(step_inc)
        return codes, nxt

    def _talker_logits(self, logits, seen, penalty, generated) -> torch.Tensor:
        logits = penalize_repetition(logits, seen, penalty)
        logits = ban_tokens(logits, self.eos_mask.unsqueeze(0) & (generated < MIN_NEW_TOKENS).unsqueeze(1))
        return ban_tokens(logits, self.suppress_mask)


