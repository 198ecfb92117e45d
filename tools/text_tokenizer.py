"""A small byte-level BPE text tokenizer that loads like the released Qwen2 one.

The released checkpoints ship `vocab.json` + `merges.txt` (no `tokenizer.json`); transformers converts them
into a fast tokenizer with an NFC normaliser, the Qwen2 split regex and byte-level pre-tokenisation, then
appends the added tokens of `tokenizer_config.json`. The fast tokenizer gives each added token the next free
id after the vocabulary, so the special tokens land on their real ids (151643...) only if `vocab.json` has
exactly 151643 entries. We train a few hundred merges on the built-in corpus and pad the vocabulary with
entries no input can produce: their strings contain U+2591, which is outside the byte-level alphabet. The
padding also keeps the vocabulary size above 100 000, so transformers applies the same Mistral-regex patch to
a local copy as it does to the real tokenizer (../shared/reference/qwen3-tts-architecture.md §2.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from tools.text_corpus import corpus

QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
BPE_VOCAB_SIZE = 151643  # ids below the first added token
_PAD_MARK = "\u2591"

# (content, special) for ids 151643.. in order, as in the released tokenizer_config.json.
ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
    ("<|audio_start|>", True),
    ("<|audio_end|>", True),
    ("<tts_pad>", True),
    ("<tts_text_bos>", True),
    ("<tts_text_eod>", True),
    ("<tts_text_bos_single>", True),
    ("<|audio_pad|>", True),
)

_EXTRA_SPECIAL_TOKENS = {
    "image_token": "<|image_pad|>",
    "audio_token": "<|audio_pad|>",
    "video_token": "<|video_pad|>",
    "vision_bos_token": "<|vision_start|>",
    "vision_eos_token": "<|vision_end|>",
    "audio_bos_token": "<|audio_start|>",
    "audio_eos_token": "<|audio_end|>",
}
_ADDITIONAL_SPECIAL_TOKENS = [
    "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<|audio_start|>", "<|audio_end|>", "<tts_pad>", "<tts_text_bos>",
    "<tts_text_bos_single>", "<|audio_pad|>",
]


@dataclass(frozen=True)
class TextTokenIds:
    """Ids of the trained tokenizer that the prompt layout depends on."""

    assistant: int
    user: int
    newline: int
    trained_vocab_size: int  # real BPE entries before the unreachable padding


def tokenizer_config() -> dict[str, Any]:
    """`tokenizer_config.json`, equal in content to the released one."""
    added = {
        str(BPE_VOCAB_SIZE + i): {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": special,
        }
        for i, (content, special) in enumerate(ADDED_TOKENS)
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": list(_ADDITIONAL_SPECIAL_TOKENS),
        "extra_special_tokens": dict(_EXTRA_SPECIAL_TOKENS),
        "bos_token": None,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
        **_EXTRA_SPECIAL_TOKENS,
    }


def train_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train the byte-level BPE on the built-in corpus (deterministic: fixed corpus, ties break by pair)."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=4096,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    return dict(model["vocab"]), [tuple(m) for m in model["merges"]]


def write_text_tokenizer(out_dir: Path) -> TextTokenIds:
    """Write `vocab.json`, `merges.txt` and `tokenizer_config.json` into `out_dir`."""
    vocab, merges = train_bpe()
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise RuntimeError("trained vocabulary ids are not contiguous")
    padded = dict(by_id)
    for i in range(len(by_id), BPE_VOCAB_SIZE):
        padded[f"{_PAD_MARK}{i}"] = i
    for word in ("assistant", "user"):
        if word not in vocab:
            raise RuntimeError(f"the corpus must make {word!r} a single token")
    with (out_dir / "vocab.json").open("w", encoding="utf-8") as f:
        json.dump(padded, f, ensure_ascii=False, separators=(",", ":"))
    with (out_dir / "merges.txt").open("w", encoding="utf-8") as f:
        f.writelines(f"{a} {b}\n" for a, b in merges)
    with (out_dir / "tokenizer_config.json").open("w", encoding="utf-8") as f:
        json.dump(tokenizer_config(), f, ensure_ascii=False, indent=2)
    return TextTokenIds(
        assistant=vocab["assistant"],
        user=vocab["user"],
        newline=vocab["\u010a"],  # byte-level spelling of "\n"
        trained_vocab_size=len(vocab),
    )
