"""Text side: the Qwen2 byte-level BPE tokenizer and the chat templates the talker was trained on.

There is no tokenizer.json in the checkpoints; transformers converts vocab.json + merges.txt into a fast
tokenizer (NFC normaliser, Qwen2 split regex, byte-level, special tokens matched inside the text), and so do we,
through the same class. One quirk is reproduced on purpose: transformers 4.57.3 swaps the split regex for the
Mistral one when a checkpoint is loaded from a *local directory* whose config says transformers_version
4.57.3, but not when it is loaded by hub id. The official package therefore tokenizes CamelCase text
differently depending on how it was pointed at the weights; we make the same choice for the same argument, so
our token ids equal the official ones either way.
"""

from __future__ import annotations

from pathlib import Path

from transformers import Qwen2TokenizerFast

TARGET_TEMPLATE = "<|im_start|>assistant\n{}<|im_end|>\n<|im_start|>assistant\n"
REFERENCE_TEMPLATE = "<|im_start|>assistant\n{}<|im_end|>\n"
INSTRUCT_TEMPLATE = "<|im_start|>user\n{}<|im_end|>\n"

# Positional slices the official prompt code applies to the target ids:
ROLE_PREFIX_LEN = 3  # <|im_start|> assistant \n
TARGET_SUFFIX_LEN = 5  # <|im_end|> \n <|im_start|> assistant \n
REFERENCE_SUFFIX_LEN = 2  # <|im_end|> \n


class TextTokenizer:
    def __init__(self, tokenizer: Qwen2TokenizerFast):
        self._tok = tokenizer
        self.special_tokens = frozenset(t.content for t in tokenizer.added_tokens_decoder.values() if t.special)

    @classmethod
    def load(cls, model_dir: str | Path, *, loaded_from_hub: bool) -> TextTokenizer:
        # fix_mistral_regex=True asks transformers to apply its local-directory rule (it patches only when the
        # rule fires); False keeps the Qwen2 regex, which is what loading by hub id gives the official code.
        tok = Qwen2TokenizerFast.from_pretrained(str(model_dir), fix_mistral_regex=not loaded_from_hub)
        return cls(tok)

    def encode(self, text: str) -> list[int]:
        return self._tok(text)["input_ids"]

    def contains_special_token(self, text: str) -> str | None:
        """The first special-token string found in user text (it would be parsed as a control token)."""
        return next((s for s in self.special_tokens if s in text), None)

    def target_ids(self, text: str) -> list[int]:
        return self.encode(TARGET_TEMPLATE.format(text))

    def instruct_ids(self, instruct: str) -> list[int]:
        return self.encode(INSTRUCT_TEMPLATE.format(instruct))

    def reference_ids(self, ref_text: str) -> list[int]:
        return self.encode(REFERENCE_TEMPLATE.format(ref_text))
