"""Test certificates made at test time with the openssl CLI: a private CA and leaf certificates it signs
(`<name>.pem` and `<name>.key` in a directory). Used by the TLS and mutual-TLS end-to-end tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
CLIENT_EXT = "extendedKeyUsage=clientAuth\n"


def need_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make test certificates")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", cwd=directory)


def make_leaf(directory: Path, name: str, ca: str, ext: str) -> None:
    """A certificate for `name` signed by the CA `ca`, with the X.509 extensions `ext` (SERVER_EXT, CLIENT_EXT)."""
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
    (directory / f"{name}.cnf").write_text(ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.cnf", cwd=directory)
