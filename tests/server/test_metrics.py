"""Metrics: names, types and labels on a private registry, and a real scrape over HTTP."""

from __future__ import annotations

import urllib.request
from dataclasses import fields

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import create_metrics, set_build_info, start_metrics_server, stop_metrics_server


def _expected(m) -> dict[str, str]:
    """Every metric the Metrics object holds, as exposed: family name (without _total/_bucket) -> type."""
    kinds = {prometheus_client.Counter: "counter", prometheus_client.Histogram: "histogram",
             prometheus_client.Gauge: "gauge", prometheus_client.Info: "gauge"}  # Info: a gauge of value 1
    out = {}
    for f in fields(m):
        metric = getattr(m, f.name)
        if type(metric) in kinds:
            suffix = "_info" if isinstance(metric, prometheus_client.Info) else ""
            out[metric._name + suffix] = kinds[type(metric)]
    return out


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_names_types_and_private_registry() -> None:
    m = create_metrics()
    fams = _families(prometheus_client.generate_latest(m.registry).decode())
    assert {n: f.type for n, f in fams.items()} == _expected(m) and len(fams) > 15
    assert all(n.startswith("qwen3tts_") for n in fams)
    assert not any(n.endswith("_created") for n in fams)
    # nothing leaked into the process-wide default registry; two instances do not collide
    assert "qwen3tts_requests_total" not in prometheus_client.generate_latest().decode()
    create_metrics()


def test_values_and_labels() -> None:
    m = create_metrics()
    m.requests.labels(door="grpc", method="Synthesize", code="OK").inc()
    m.requests.labels(door="grpc", method="Synthesize", code="UNAVAILABLE").inc(2)
    m.requests.labels(door="http", method="Synthesize", code="UNAVAILABLE").inc()
    m.time_to_first_audio.labels(door="http", priority="interactive").observe(0.18)
    m.queue_wait.labels(priority="batch").observe(1.2)
    m.real_time_factor.observe(0.4)
    m.requests_running.set(5)
    m.requests_waiting.labels(priority="interactive").set(3)
    m.batch_size.observe(8)
    m.worker_restarts.labels(worker="0").inc()
    m.worker_up.labels(worker="0").set(1)
    m.audio_seconds.labels(encoding="PCM_S16LE").inc(1.5)
    m.requests_rejected.labels(door="grpc", reason="queue_full").inc()
    set_build_info(m, version="0.1.0", model="Qwen/x")
    text = prometheus_client.generate_latest(m.registry).decode()
    r = m.registry.get_sample_value
    assert r("qwen3tts_requests_total", {"door": "grpc", "method": "Synthesize", "code": "UNAVAILABLE"}) == 2
    assert r("qwen3tts_requests_total", {"door": "http", "method": "Synthesize", "code": "UNAVAILABLE"}) == 1
    http_ttfa = {"door": "http", "priority": "interactive"}
    assert r("qwen3tts_time_to_first_audio_seconds_count", http_ttfa) == 1
    assert r("qwen3tts_time_to_first_audio_seconds_count", {"door": "grpc", "priority": "interactive"}) == 0
    assert r("qwen3tts_time_to_first_audio_seconds_bucket", {**http_ttfa, "le": "0.2"}) == 1
    assert r("qwen3tts_time_to_first_audio_seconds_bucket", {**http_ttfa, "le": "0.15"}) == 0
    assert r("qwen3tts_queue_wait_seconds_sum", {"priority": "batch"}) == 1.2
    assert r("qwen3tts_requests_running") == 5
    assert r("qwen3tts_requests_waiting", {"priority": "interactive"}) == 3
    assert r("qwen3tts_requests_waiting", {"priority": "batch"}) == 0  # pre-created series
    assert r("qwen3tts_requests_rejected_total", {"door": "http", "reason": "queue_timeout"}) == 0
    assert r("qwen3tts_worker_restarts_total", {"worker": "0"}) == 1
    assert r("qwen3tts_audio_seconds_total", {"encoding": "PCM_S16LE"}) == 1.5
    assert r("qwen3tts_build_info", {"version": "0.1.0", "model": "Qwen/x"}) == 1
    assert "qwen3tts_real_time_factor_bucket" in text


def test_http_scrape() -> None:
    m = create_metrics()
    m.requests.labels(door="http", method="ListVoices", code="OK").inc()
    set_build_info(m, version="0.1.0")
    httpd, thread = start_metrics_server(m, port=0, host="127.0.0.1")
    try:
        port = httpd.server_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            body = resp.read().decode()
        fams = _families(body)
        assert set(_expected(m)) <= set(fams)
        (sample,) = [s for s in fams["qwen3tts_requests"].samples if s.name == "qwen3tts_requests_total"]
        assert sample.labels == {"door": "http", "method": "ListVoices", "code": "OK"} and sample.value == 1
    finally:
        stop_metrics_server(httpd)
    thread.join(timeout=5)
    assert not thread.is_alive()
