"""Prometheus metrics of the server (prefix `qwen3tts_`, base units), on their own CollectorRegistry.

Only the front-end process owns metrics: workers report their numbers (batch size, step time, restarts) to it
over IPC, so prometheus_client's multiprocess mode is not needed. `start_metrics_server` serves the registry on
the metrics port from a daemon thread (it never blocks the event loop).

Names follow prometheus.io naming practice: seconds/ratios/bytes, `_total` on counters (prometheus_client adds
it), `_info` for the build pseudo-metric, no high-cardinality labels (no request ids, texts, voices).

Per-request families carry `door`, the front door the request came through (`grpc` | `http` | `websocket`, the
HTTP port's `/v1/audio/speech/stream`). Their `method` and `code` are the same on every door: the operation
(`Synthesize`, `StreamingSynthesize`, `ListVoices`, `RegisterVoice`, `DeleteVoice`, `GetServiceInfo`) and the
service's status name (`OK`, `INVALID_ARGUMENT`, `UNAVAILABLE`, ..., server/errors.py), not the HTTP status or
the WebSocket close code, so one query covers every door (those are in the door's log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

PREFIX = "qwen3tts_"
DOORS = ("grpc", "http", "websocket")
PRIORITIES = ("interactive", "batch")
REJECT_REASONS = ("queue_full", "queue_timeout", "invalid_argument", "unauthenticated", "not_ready",
                  "shutting_down")
CANCEL_REASONS = ("client", "deadline", "shutdown")

# Latency buckets: 10 ms .. 60 s (TTFA on a GPU is ~0.1-0.4 s; on CPU several seconds).
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5,
                    10.0, 20.0, 30.0, 60.0)
_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_RTF_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
_INTERVAL_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256)
_STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Metrics:
    """All metric objects of one server; build with `create_metrics()`."""

    registry: CollectorRegistry
    requests: Counter  # door, method, code
    request_duration: Histogram  # door, method, code
    time_to_first_audio: Histogram  # door, priority
    queue_wait: Histogram  # priority
    chunk_interval: Histogram
    real_time_factor: Histogram
    requests_running: Gauge
    requests_waiting: Gauge  # priority
    requests_paused: Gauge
    worker_free_slots: Gauge  # worker: decode slots (and so KV-cache rows) not held by any sequence
    requests_rejected: Counter  # door, reason
    requests_cancelled: Counter  # door, reason
    batch_size: Histogram
    step_duration: Histogram
    input_characters: Counter
    generated_frames: Counter
    audio_seconds: Counter  # encoding
    audio_chunks: Counter  # encoding
    worker_up: Gauge  # worker
    worker_restarts: Counter  # worker
    build: Info


def create_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """Every server metric, registered on `registry` (a new CollectorRegistry by default).

    Also turns off prometheus_client's `*_created` series process-wide (they double the series count and carry
    nothing Prometheus uses from the text format).
    """
    prometheus_client.disable_created_metrics()
    r = CollectorRegistry(auto_describe=True) if registry is None else registry

    def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(PREFIX + name, doc, labels, registry=r)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=r)

    def histogram(name: str, doc: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()) -> Histogram:
        return Histogram(PREFIX + name, doc, labels, buckets=buckets, registry=r)

    m = Metrics(
        registry=r,
        requests=counter("requests", "Finished requests by front door, method and status.",
                         ("door", "method", "code")),
        request_duration=histogram("request_duration_seconds",
                                   "End-to-end request duration (receive to status or end of body).",
                                   _DURATION_BUCKETS, ("door", "method", "code")),
        time_to_first_audio=histogram("time_to_first_audio_seconds",
                                      "Synthesize: request received to first AudioChunk sent.", _LATENCY_BUCKETS,
                                      ("door", "priority")),
        queue_wait=histogram("queue_wait_seconds", "Synthesize: admission to first scheduled on a worker.",
                             _LATENCY_BUCKETS, ("priority",)),
        chunk_interval=histogram("chunk_interval_seconds",
                                 "Wall time between consecutive AudioChunks of a stream.", _INTERVAL_BUCKETS),
        real_time_factor=histogram("real_time_factor",
                                   "Synthesize: processing time / audio duration (<1: faster than real time).",
                                   _RTF_BUCKETS),
        requests_running=gauge("requests_running", "Sequences being generated on the workers."),
        requests_waiting=gauge("requests_waiting", "Requests waiting for a worker slot (autoscaling signal).",
                               ("priority",)),
        requests_paused=gauge("requests_paused", "Sequences paused because their client reads too slowly."),
        worker_free_slots=gauge("worker_free_slots", "Decode slots (each with its KV-cache rows) free on a worker, "
                                "as the worker's engine counts them.", ("worker",)),
        requests_rejected=counter("requests_rejected", "Requests refused before any audio, by reason.",
                                  ("door", "reason")),
        requests_cancelled=counter("requests_cancelled", "Streams ended early, by reason.", ("door", "reason")),
        batch_size=histogram("batch_size", "Sequences per decode step.", _BATCH_BUCKETS),
        step_duration=histogram("step_duration_seconds", "Duration of one decode step (all sequences).",
                                _STEP_BUCKETS),
        input_characters=counter("input_characters", "Characters of admitted texts."),
        generated_frames=counter("generated_frames", "Codec frames generated (80 ms of audio each)."),
        audio_seconds=counter("audio_seconds", "Seconds of audio sent, by encoding.", ("encoding",)),
        audio_chunks=counter("audio_chunks", "AudioChunks sent, by encoding.", ("encoding",)),
        worker_up=gauge("worker_up", "1 if the worker process is alive and ready, else 0.", ("worker",)),
        worker_restarts=counter("worker_restarts", "Worker process restarts (crashes).", ("worker",)),
        build=Info(PREFIX + "build", "Server build and served model.", registry=r),
    )
    # Series that dashboards and alerts expect to exist from the start (0 rather than absent).
    for p in PRIORITIES:
        m.requests_waiting.labels(priority=p)
        m.queue_wait.labels(priority=p)
    for door in DOORS:
        for p in PRIORITIES:
            m.time_to_first_audio.labels(door=door, priority=p)
        for reason in REJECT_REASONS:
            m.requests_rejected.labels(door=door, reason=reason)
        for reason in CANCEL_REASONS:
            m.requests_cancelled.labels(door=door, reason=reason)
    return m


def set_build_info(metrics: Metrics, **labels: Any) -> None:
    """qwen3tts_build_info{version=..., model=..., ...} 1."""
    metrics.build.info({k: str(v) for k, v in labels.items()})


def start_metrics_server(metrics: Metrics, port: int, host: str = "0.0.0.0") -> tuple[Any, Any]:
    """Serve `metrics.registry` at http://host:port/metrics from a daemon thread.

    Returns (httpd, thread); `httpd.server_port` is the bound port (useful with port 0). Stop with
    `stop_metrics_server(httpd)`.
    """
    return prometheus_client.start_http_server(port, addr=host, registry=metrics.registry)


def stop_metrics_server(httpd: Any) -> None:
    httpd.shutdown()
    httpd.server_close()
