"""One pymorphy3 analyzer shared by the Russian rule layers (loading one takes ~0.2 s and its dictionaries)."""

from __future__ import annotations

from functools import lru_cache

import pymorphy3


@lru_cache(maxsize=1)
def analyzer() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()
