"""A resolved request's text -> the segments it is spoken in: the text front end as the server applies it.

    request = plan(resolve(request, capabilities))     # request.segments filled

The text is cut into segments (segment.py: sentences grouped up to a budget, a quick first one) in its
language (for `auto`, the language its script shows, so that Russian text is split by razdel), then each
segment is normalized (normalize/: English and Russian; other languages pass through) per the request's
`text_normalization`. Boundaries are a function of the text alone. Used by every door, in-process synthesis
and the offline CLI.
"""

from __future__ import annotations

from dataclasses import replace

from contract.request import SynthesisRequest, TextSegment
from server.text.normalize import apply, detect_language
from server.text.segment import segment


def plan(req: SynthesisRequest) -> SynthesisRequest:
    language = req.language if req.language != "auto" else detect_language(req.text) or "auto"
    segments = tuple(TextSegment(s.index, s.start, s.end, apply(s.text, language, req.text_normalization))
                     for s in segment(req.text, language))
    return replace(req, segments=segments)
