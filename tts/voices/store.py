"""Registered voices: a bounded in-memory cache over a directory that survives restarts.

Layout: STORE/<name>/voice.safetensors (x_vector, ref_codes, codec_prime.N) + STORE/<name>/voice.json (name,
mode, transcript, reference token ids, creation time, duration, the model fingerprint). A voice is written
into a temporary directory first and renamed into place, so readers never see half a voice and a crash never
leaves one. Voices are tied to the checkpoint that made them (the x-vector comes from its speaker encoder):
loading a voice made by another checkpoint is refused.

Hardening: the store's directories are created 0700 and its files 0600 (a voice is biometric data: only the
server's user reads it). A write that fails (disk or quota full, ENOSPC/EDQUOT/EFBIG) leaves nothing behind and
is reported as STORE_FULL; a voice whose files cannot be read back (damaged, truncated) is reported as
VOICE_UNREADABLE for that voice alone, and it stays deletable. Leftovers of a crash in the middle of a write or a
delete (`.writing-*`, `.deleting-*`) are removed when the store opens.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import load_file, save

from contract.outcome import FailureKind
from tts.voices.voice import VoicePrompt, describe

log = logging.getLogger(__name__)
# Failed writes that mean "no room": the disk, a quota, or a file-size limit.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
DIR_MODE, FILE_MODE = 0o700, 0o600

NAME_RULE = "1-64 characters from a-z, 0-9, '_' and '-', starting with a letter or digit"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class VoiceError(ValueError):
    """A voice operation that cannot be done; `field` names the request field to blame, `kind` is one of
    invalid | not_found | exists."""

    def __init__(self, message: str, *, field: str = "voice", kind: FailureKind = FailureKind.INVALID):
        super().__init__(message)
        self.field, self.kind = field, kind


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise VoiceError(f"voice name {name!r} is not valid: {NAME_RULE}", field="name")
    return name


def model_fingerprint(model_dir: Path) -> str:
    """Identifies the checkpoint a voice belongs to: its config and the size of its weights."""
    h = hashlib.sha256((model_dir / "config.json").read_bytes())
    h.update(str((model_dir / "model.safetensors").stat().st_size).encode())
    return h.hexdigest()[:16]


class VoiceStore:
    def __init__(self, root: Path | None, fingerprint: str, capacity: int = 64):
        self.root, self.fingerprint, self.capacity = root, fingerprint, capacity
        # name -> (identity of its voice.json when read, voice): another worker may delete and re-register a name
        self._cache: OrderedDict[str, tuple[tuple[int, int] | None, VoicePrompt]] = OrderedDict()
        self._memory_only: dict[str, VoicePrompt] = {}
        self._lock = threading.Lock()
        if root is not None:
            root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            for leftover in [*root.glob(".writing-*"), *root.glob(".deleting-*")]:  # a crash mid-operation
                shutil.rmtree(leftover, ignore_errors=True)

    def add(self, voice: VoicePrompt, *, persist: bool = True) -> None:
        """Register a voice. persist=False keeps it in this process only (offline one-off references)."""
        check_name(voice.name)
        if self.exists(voice.name):
            raise VoiceError(f"a voice named {voice.name!r} already exists; delete it first", field="name",
                             kind=FailureKind.EXISTS)
        if persist and self.root is not None:
            self._write(voice)
            self._remember(voice, self._stamp(voice.name))
        else:
            self._memory_only[voice.name] = voice

    def get(self, name: str) -> VoicePrompt:
        with self._lock:
            if name in self._memory_only:
                return self._memory_only[name]
            cached = self._cache.get(name)
        # The directory is the truth for persisted voices (another worker may have deleted or replaced one).
        stamp = self._stamp(name)
        if cached is not None and cached[0] == stamp and stamp is not None:
            with self._lock:
                self._cache.move_to_end(name)
            return cached[1]
        voice = self._read(name)
        self._remember(voice, stamp)
        return voice

    def exists(self, name: str) -> bool:
        return name in self._memory_only or (self.root is not None and _NAME.match(name) is not None
                                             and self._dir(name).is_dir())

    def delete(self, name: str) -> None:
        check_name(name)
        with self._lock:
            self._cache.pop(name, None)
            if self._memory_only.pop(name, None) is not None:
                return
        if self.root is None or not self._dir(name).is_dir():
            raise VoiceError(f"no voice named {name!r}", kind=FailureKind.NOT_FOUND)
        trash = Path(tempfile.mkdtemp(prefix=f".deleting-{name}-", dir=self.root))
        os.replace(self._dir(name), trash / name)  # atomic: gone for readers at once
        shutil.rmtree(trash, ignore_errors=True)

    def names(self) -> list[str]:
        on_disk = [] if self.root is None else [p.name for p in self.root.iterdir()
                                                  if p.is_dir() and _NAME.match(p.name) and (p / "voice.json").is_file()]
        return sorted(set(on_disk) | set(self._memory_only))

    def describe_all(self) -> list[dict]:
        """Every voice, from metadata alone (no tensors are read)."""
        out = []
        for name in self.names():
            if name in self._memory_only:
                out.append(self._memory_only[name].describe())
                continue
            try:
                meta = json.loads((self._dir(name) / "voice.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # deleted meanwhile
            if meta.get("fingerprint") == self.fingerprint:
                out.append(describe(name, meta.get("ref_ids") is not None, meta))
        return out

    # ------------------------------------------------------------------ internals
    def _dir(self, name: str) -> Path:
        return self.root / name

    def _stamp(self, name: str) -> tuple[int, int] | None:
        """Identity of a stored voice: a re-registered name gets a new file (inode, modification time)."""
        if self.root is None or not _NAME.match(name):
            return None
        try:
            st = (self._dir(name) / "voice.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _remember(self, voice: VoicePrompt, stamp: tuple[int, int] | None) -> None:
        with self._lock:
            self._cache[voice.name] = (stamp, voice)
            self._cache.move_to_end(voice.name)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def _write(self, voice: VoicePrompt) -> None:
        tensors = {"x_vector": voice.x_vector.detach().float().contiguous().cpu()}
        if voice.ref_codes is not None:
            tensors["ref_codes"] = voice.ref_codes.to(torch.int64).contiguous().cpu()
        for i, t in enumerate(voice.codec_prime or []):
            tensors[f"codec_prime.{i}"] = t.detach().contiguous().cpu()
        meta = {"name": voice.name, "ref_text": voice.ref_text, "ref_ids": voice.ref_ids,
                "codec_prime": len(voice.codec_prime or []), "fingerprint": self.fingerprint,
                **{k: v for k, v in voice.meta.items() if k != "fingerprint"}}
        tmp = None
        old_umask = os.umask(0o077)  # files and directories of this write: the owner's alone (mkdtemp: 0700)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".writing-{voice.name}-", dir=self.root))
            # serialized in memory and written by Python: a full disk is then an OSError with its errno
            # (safetensors' own save_file reports it as a SafetensorError without one)
            (tmp / "voice.safetensors").write_bytes(save(tensors))
            (tmp / "voice.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            for f in tmp.iterdir():
                os.chmod(f, FILE_MODE)
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            os.rename(tmp, self._dir(voice.name))  # fails if another writer got there first
        except OSError as e:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            if self._dir(voice.name).exists():
                raise VoiceError(f"a voice named {voice.name!r} already exists", field="name", kind=FailureKind.EXISTS) from e
            if e.errno in _FULL:
                log.error("voice store full while writing voice %r: %s", voice.name, e.strerror)
                raise VoiceError("the voice store is full; delete voices or give it more room", field="name",
                                 kind=FailureKind.STORE_FULL) from e
            raise
        finally:
            os.umask(old_umask)

    def _read(self, name: str) -> VoicePrompt:
        check_name(name)
        d = None if self.root is None else self._dir(name)
        if d is None or not (d / "voice.json").is_file():
            raise VoiceError(f"no voice named {name!r}", kind=FailureKind.NOT_FOUND)
        try:
            meta = json.loads((d / "voice.json").read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("voice.json is not an object")
        except (OSError, ValueError) as e:
            raise _unreadable(name, e) from e
        if meta.get("fingerprint") != self.fingerprint:
            raise VoiceError(f"voice {name!r} was made with another checkpoint; register it again for this model")
        try:
            tensors = load_file(str(d / "voice.safetensors"))
            prime = [tensors[f"codec_prime.{i}"] for i in range(int(meta.pop("codec_prime", 0)))] or None
            x_vector = tensors["x_vector"]
            if x_vector.ndim != 1 or not torch.isfinite(x_vector).all():
                raise ValueError(f"x_vector has shape {tuple(x_vector.shape)} or non-finite values")
        except Exception as e:  # noqa: BLE001 - safetensors raises its own errors for a damaged file
            raise _unreadable(name, e) from e
        return VoicePrompt(name=name, x_vector=x_vector, ref_codes=tensors.get("ref_codes"),
                           ref_text=meta.pop("ref_text", None), ref_ids=meta.pop("ref_ids", None),
                           codec_prime=prime, meta={k: v for k, v in meta.items() if k != "name"})


def _unreadable(name: str, cause: Exception) -> VoiceError:
    log.error("voice %r cannot be read (%s: %s); it is unavailable until deleted and registered again", name,
              type(cause).__name__, cause)
    return VoiceError(f"voice {name!r} cannot be read (its stored files are damaged); delete it and register it "
                      "again", kind=FailureKind.VOICE_UNREADABLE)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
