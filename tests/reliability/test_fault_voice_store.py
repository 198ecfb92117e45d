"""The voice store when its disk misbehaves, on a real size-limited filesystem (a 256 KiB tmpfs mounted for the
test; needs root, as CI and the dev machines run).

- Disk full during RegisterVoice: RESOURCE_EXHAUSTED VOICE_STORE_FULL (HTTP 507), nothing half-written visible
  (no directory for the voice, no `.writing-*` leftover), the other voices keep working.
- A voice file damaged while the server is down: the server starts, that voice is reported unreadable
  (INVALID_ARGUMENT naming `voice`), the others work, the worker lives on, and the damaged voice can be deleted.
- A crash mid-write (a `.writing-*` directory left behind) is cleaned up when the store opens; files are 0600,
  directories 0700.
"""

from __future__ import annotations

import shutil
import stat
import subprocess

import grpc
import pytest

from qwen3tts.v1 import tts_pb2
from tests.e2e import ServerProcess, call_error, http_request, scrape, synthesize
from tests.reliability.conftest import wav

pytestmark = pytest.mark.faults


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "store"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _register(stub, name: str, seed: int = 1):
    return stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(name=name, reference_audio=wav(seed=seed),
                                                           x_vector_only=True), timeout=120)


def _fill(mnt) -> None:
    """Take every free byte of the filesystem."""
    with open(mnt / "filler", "wb", buffering=0) as f:  # unbuffered: close() has nothing left to flush
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_full_disk_and_damaged_voice(make_ckpt, small_disk):
    ckpt = make_ckpt("tiny-base")
    server = ServerProcess(ckpt, "--max-batch", "2", "--voice-store", str(small_disk), http=True)
    server.start()
    try:
        stub = server.stub()
        _register(stub, "keep")
        _register(stub, "broken", seed=2)
        for path in [small_disk / "keep", *(small_disk / "keep").iterdir()]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
        # disk full
        _fill(small_disk)
        d = call_error(lambda: _register(stub, "nospace", seed=3))
        assert d.code == grpc.StatusCode.RESOURCE_EXHAUSTED and d.reason == "VOICE_STORE_FULL", d
        r = http_request(server, "POST", "/v1/audio/voices", body=_form("nospace2"), headers=_FORM_HEADERS)
        assert r.status == 507 and r.json()["error"]["code"] == "voice_store_full", r.body
        leftovers = sorted(p.name for p in small_disk.iterdir())
        assert leftovers == ["broken", "filler", "keep"], leftovers  # nothing half-written
        names = [v.name for v in stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=30).voices]
        assert sorted(names) == ["broken", "keep"]
        synthesize(stub, voice="keep").ok()
        (small_disk / "filler").unlink()
        assert scrape(server).total("qwen3tts_worker_restarts_total") == 0
    finally:
        assert server.stop() == 0
    # While it is down, a voice file is damaged (a worker that has a voice cached keeps serving it from memory,
    # so the damage shows on a fresh start) and a crash mid-write has left a temporary directory behind.
    tensors = small_disk / "broken" / "voice.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:40])
    (small_disk / ".writing-ghost-abc").mkdir()
    (small_disk / ".writing-ghost-abc" / "voice.json").write_text("{")
    again = ServerProcess(ckpt, "--max-batch", "2", "--voice-store", str(small_disk))
    again.start()
    try:
        stub = again.stub()
        assert not (small_disk / ".writing-ghost-abc").exists()
        synthesize(stub, voice="keep").ok()
        d = call_error(lambda: _raise(stub, "broken"))
        assert d.code == grpc.StatusCode.INVALID_ARGUMENT and "cannot be read" in d.violations.get("voice", ""), d
        synthesize(stub, voice="keep").ok()  # the others still work, and the worker lived through it
        assert scrape(again).total("qwen3tts_worker_restarts_total") == 0
        stub.DeleteVoice(tts_pb2.DeleteVoiceRequest(name="broken"), timeout=30)
        assert [v.name for v in stub.ListVoices(tts_pb2.ListVoicesRequest(), timeout=30).voices] == ["keep"]
        _register(stub, "fresh", seed=4)  # room again
        synthesize(stub, voice="fresh").ok()
    finally:
        again.stop()
    shutil.rmtree(small_disk / "fresh", ignore_errors=True)


def _raise(stub, voice: str) -> None:
    """Synthesize that must fail: raises its RpcError."""
    s = synthesize(stub, voice=voice)
    if s.error is not None:
        raise s.error
    raise AssertionError(f"synthesis with {voice!r} succeeded")


_BOUNDARY = "relboundary"
_FORM_HEADERS = {"content-type": f"multipart/form-data; boundary={_BOUNDARY}"}


def _form(name: str) -> bytes:
    audio = wav(seed=5)
    parts = [f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{name}\r\n'.encode(),
             f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="x_vector_only"\r\n\r\ntrue\r\n'.encode(),
             f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="audio_sample"; filename="a.wav"\r\n'
             f"Content-Type: audio/wav\r\n\r\n".encode() + audio + b"\r\n", f"--{_BOUNDARY}--\r\n".encode()]
    return b"".join(parts)
