"""Voice operations for every front door: list, register, delete (registration runs in a worker: tensors).

Transport-free: a door parses its wire format (the reference audio bytes or samples, the fields), calls these,
and turns the `VoiceInfo` values or the raised `ServiceError` into its own wire format.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace

import numpy as np

from contract.capabilities import Capabilities
from contract.rules import Violation
from server import errors
from workers import protocol as p
from workers.pool import NoCapacity, PoolFailed, WorkerPool

REFERENCE_AUDIO_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    registered: bool  # False: a built-in speaker of the checkpoint
    languages: tuple[str, ...]
    sample_rate: int
    description: str = ""
    created: str | None = None  # RFC 3339, registered voices
    x_vector_only: bool = False


class Voices:
    def __init__(self, pool: WorkerPool):
        self.pool = pool
        self._ids = itertools.count(1)

    async def list(self, caps: Capabilities, language: str = "") -> list[VoiceInfo]:
        """Built-in speakers (by name), then registered voices; only those meant for `language` if given."""
        wanted = language.strip().lower()
        if wanted and wanted not in caps.languages:
            raise errors.invalid([Violation("language", f"{language!r} is not supported")])
        languages = (wanted,) if wanted else caps.languages
        # Sorted by name as the API promises (the checkpoint's own order only decides the default voice).
        voices = [VoiceInfo(s, False, languages, caps.sample_rate) for s in sorted(caps.speakers)]
        if caps.clones_voices:
            result = await self._command(p.VoiceCommand("", p.VoiceOp.LIST))
            voices += [_registered(v, caps) for v in result.voices
                       if not wanted or not v.get("languages") or wanted in v["languages"]]
        return voices

    async def register(self, caps: Capabilities, name: str, audio: bytes | tuple[np.ndarray, int], *,
                       reference_text: str = "", x_vector_only: bool = False, description: str = "",
                       languages: tuple[str, ...] = (), problems: tuple[Violation, ...] = ()) -> VoiceInfo:
        """`audio`: an encoded file (WAV, FLAC, Ogg) or (samples, sample rate); `problems`: what the door found
        wrong with its wire format (reported together with the rest)."""
        _clones(caps)
        bad = list(problems)
        size = len(audio) if isinstance(audio, bytes) else audio[0].nbytes
        if not size and not problems:
            bad.append(Violation("reference_audio", "must not be empty"))
        elif size > REFERENCE_AUDIO_MAX_BYTES:
            bad.append(Violation("reference_audio", f"is larger than {REFERENCE_AUDIO_MAX_BYTES} bytes"))
        langs = tuple(sorted({x.strip().lower() for x in languages}))
        unknown = [x for x in langs if x not in caps.languages]
        if unknown:
            bad.append(Violation("languages", f"{', '.join(unknown)} not supported; choose from "
                                              f"{', '.join(caps.languages)}"))
        if bad:
            raise errors.invalid(bad)
        result = await self._command(p.VoiceCommand(
            "", p.VoiceOp.REGISTER, name=name.strip().lower(), audio=audio, ref_text=reference_text or None,
            x_vector_only=x_vector_only, description=description, languages=langs))
        return _registered(result.voices[0], caps)

    async def delete(self, caps: Capabilities, name: str) -> None:
        _clones(caps)
        await self._command(p.VoiceCommand("", p.VoiceOp.DELETE, name=name.strip().lower()))

    async def _command(self, command: p.VoiceCommand) -> p.VoiceResult:
        command = replace(command, request_id=f"voice-{next(self._ids)}")
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        try:
            self.pool.voice_command(command, lambda msg: loop.call_soon_threadsafe(
                lambda: done.done() or done.set_result(msg)))
        except (NoCapacity, PoolFailed) as e:
            raise errors.unavailable(f"no worker can take voice commands right now ({e})", "NOT_READY", 5.0) from e
        msg = await done
        if isinstance(msg, p.Failed):
            raise errors.from_failure(msg.kind, msg.message, msg.violations)
        if msg.error_kind is not None:
            raise errors.from_failure(msg.error_kind, msg.error,
                                      [Violation(msg.error_field or "name", msg.error)])
        return msg


def _clones(caps: Capabilities) -> None:
    if not caps.clones_voices:
        raise errors.ServiceError(errors.Status.FAILED_PRECONDITION,
                                  f"this {caps.model_type} model cannot clone voices; serve a Base checkpoint",
                                  reason="CLONING_UNSUPPORTED")


def _registered(v: dict, caps: Capabilities) -> VoiceInfo:
    return VoiceInfo(v["name"], True, tuple(v.get("languages") or caps.languages), caps.sample_rate,
                     v.get("description", ""), v.get("created") or None, v["mode"] == "x_vector")
