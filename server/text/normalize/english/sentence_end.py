"""Whether a period we are about to replace also ends the sentence (so the replacement must keep it)."""

from __future__ import annotations


def ends_sentence(text: str, end: int) -> bool:
    """True when `text[end:]` is empty, or whitespace followed by an upper-case letter, a digit or a newline."""
    rest = text[end:]
    stripped = rest.lstrip(" \t")
    if not stripped or stripped[0] == "\n":
        return True
    return rest != stripped and (stripped[0].isupper() or stripped[0].isdigit())
