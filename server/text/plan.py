"""A resolved request's text -> the segments it is spoken in: the text front end as the server applies it.

    request = plan(resolve(request, capabilities))     # request.segments filled

The text is cut into segments (segment.py: sentences grouped up to a budget, a quick first one; for `auto`
each sentence is split by its script, so Russian by razdel), then each segment is normalized (normalize/:
English and Russian, an `auto` segment in the language its script shows; other languages pass through) per
the request's `text_normalization`. Both are functions of the text alone, segment by segment, so a text that
arrives in pieces (streaming input: `IncrementalSegmenter` + `spoken`) gives exactly the same segments. Used
by every door, in-process synthesis and the offline CLI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from contract.request import SynthesisRequest, TextSegment
from server.text.normalize import apply
from server.text.segment import Segment, segment


def plan(req: SynthesisRequest) -> SynthesisRequest:
    return replace(req, segments=spoken(req, segment(req.text, req.language)))


def spoken(req: SynthesisRequest, segments: Iterable[Segment], first_index: int = 0) -> tuple[TextSegment, ...]:
    """Segments of the request's text as they will be spoken (normalized per the request), numbered from
    `first_index` (a streaming session numbers its segments across turns)."""
    return tuple(TextSegment(first_index + s.index, s.start, s.end,
                             apply(s.text, req.language, req.text_normalization)) for s in segments)
