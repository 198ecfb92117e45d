"""The offline commands' requests: their flags and JSONL fields -> a resolved, segmented `SynthesisRequest`.

The same rulebook as a server's (contract/rules.py) checks them and the same text front end cuts the text into
its spoken segments (server/text/plan.py); violations come back under the CLI's own names (`speaker`/`voice`,
`instruct`, `max_frames`), which is what a user of these commands typed.
"""

from __future__ import annotations

from contract.capabilities import Capabilities
from contract.request import GREEDY, Sampling, SynthesisRequest, TextNormalization
from contract.rules import InvalidRequest, Violation, resolve
from server.text.plan import plan

# API field -> the CLI's name (the voice is `speaker` on CustomVoice/VoiceDesign checkpoints, `voice` on Base).
NAMES = {"instructions": "instruct", "max_audio_duration_ms": "max_frames"}


def cli_request(caps: Capabilities, *, text: str, language: str = "auto", voice: str | None = None,
                instruct: str | None = None, greedy: bool = False, seed: int | None = None,
                max_frames: int | None = None, text_normalization: str = "auto") -> SynthesisRequest:
    """Resolved, or InvalidRequest in the CLI's names. `voice`: the --speaker (or, on Base, --voice) value."""
    if max_frames is not None and max_frames < 1:
        raise InvalidRequest([Violation("max_frames", "must be at least 1")])
    req = SynthesisRequest(text=text, language=language, voice=voice or "", instructions=instruct or "",
                           sampling=GREEDY if greedy else Sampling(), seed=seed,
                           max_audio_duration_ms=(max_frames or 0) * caps.frame_ms,
                           text_normalization=TextNormalization[text_normalization.upper()])
    try:
        return plan(resolve(req, caps))
    except InvalidRequest as e:
        raise renamed(e, caps) from None


def renamed(e: InvalidRequest, caps: Capabilities) -> InvalidRequest:
    names = {**NAMES, "voice": "voice" if caps.clones_voices else "speaker"}
    return InvalidRequest([Violation(names.get(v.field, v.field), v.message) for v in e.violations])
