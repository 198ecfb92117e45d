"""The layout's import rules, checked on the source (what each module imports at any depth, lazily or not) and
by importing: the contract, the worker protocol and pool, and the server never load torch; the library never
reaches up (its offline commands only to the text front end); the client reaches the server and the model
library only from its --local adapter; nothing in the product imports the tools folder."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("contract", "tts", "workers", "server", "client")


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path.relative_to(ROOT), {m.split(".")[0] for m in imported(path)}


def test_no_product_module_imports_the_tools_folder():
    bad = [str(p) for pkg in PRODUCT for p, tops in modules(pkg) if "tools" in tops]
    assert not bad, bad


def test_the_contract_imports_only_itself_and_the_standard_library():
    bad = [str(p) for p, tops in modules("contract") if tops & {"torch", "numpy", "grpc", "tts", "server", "workers"}]
    assert not bad, bad


def test_the_client_reaches_server_and_library_only_from_its_local_adapter():
    bad = [str(p) for p, tops in modules("client") if tops & {"server", "tts", "workers", "torch"}
           and p.name != "local_synthesis.py"]
    assert not bad, bad


def test_the_library_never_imports_the_server_the_workers_or_the_client():
    # tts/cli is the offline commands' front door: like every door it applies the text front end
    # (server/text, torch-free); nothing below it may reach up.
    bad = [str(p) for p, tops in modules("tts") if p.parts[1] != "cli" and tops & {"server", "workers", "client"}]
    assert not bad, bad
    cli = {m for p, _ in modules("tts") if p.parts[1] == "cli" for m in imported(ROOT / p)}
    assert not {m for m in cli if m.split(".")[0] in ("workers", "client")}
    assert {m for m in cli if m.startswith("server.")} <= {"server.text.plan"}


def test_server_protocol_and_pool_load_without_torch():
    server_modules = sorted(".".join(p.with_suffix("").parts) for p, _ in modules("server"))
    code = (f"import sys; import {', '.join(server_modules)}, contract.rules, workers.protocol, workers.pool, "
            "client, client.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'tts')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=ROOT)
