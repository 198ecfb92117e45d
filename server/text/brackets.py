"""Bracket and quote depth, so that no boundary is placed inside "(...)", «...», “...” or "..."."""

from __future__ import annotations

# opener -> the closer it waits for. "„" (German, Russian) is closed by "“" or "”"; "“" opens an English quote
# unless a "„" is waiting for it.
_PAIRS = {"(": ")", "[": "]", "{": "}", "«": "»", "“": "”", "„": "“”", "‹": "›"}


class Depth:
    """The stack of open brackets and quotes over text read one character at a time."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: list[str] = []

    @property
    def value(self) -> int:
        return len(self._open)

    def read(self, char: str) -> None:
        if self._open and char in self._open[-1]:
            self._open.pop()
        elif char == '"':
            self._open.append('"')  # a straight quote closes the one open (handled above) or opens one
        elif char in _PAIRS:
            self._open.append(_PAIRS[char])
        # a closer nobody waits for (a stray ")") is ignored: depth never goes below zero
