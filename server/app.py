"""Wiring of the server process: worker pool, admission, the two front doors (gRPC: service, health, reflection,
auth; HTTP: the OpenAI-compatible API and the playground), metrics.

    app = ServerApp(config); port = await app.start(); ...; await app.stop()

Both doors share the admission queue, the workers (their requests batch together), the tokens, the metrics and
the logs. The gRPC and HTTP ports open at once, with health NOT_SERVING and /ready 503; they turn SERVING / 200
when a worker is warm (and back while no worker is ready, e.g. during a restart, and for good when draining).
`stop()` is the SIGTERM sequence: NOT_SERVING, refuse new work (gRPC UNAVAILABLE, HTTP 503, both with a retry
delay), let in-flight streams of both doors finish within the grace period, cancel the rest, stop the workers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from server.admission import Admission
from server.auth import BearerTokenInterceptor, TokenSet, load_scoped_tokens
from server.calls import PRIORITY_NAMES
from server.config import ServerConfig
from server.doors.grpc_errors import MalformedRequestInterceptor
from server.doors.grpc_messages import VERSION
from server.doors.grpc_service import TextToSpeechService
from server.doors.http import HttpApi
from server.doors.http_server import HttpServer, Tls
from server.log import RequestContextInterceptor, get_logger
from server.metrics import Metrics, create_metrics, set_build_info, start_metrics_server, stop_metrics_server
from server.voices import Voices
from workers.pool import PoolFailed, WorkerPool
from workers.protocol import WorkerSpec

log = get_logger("server.app")
SERVICE_NAME = tts_pb2.DESCRIPTOR.services_by_name["TextToSpeechService"].full_name
STATS_INTERVAL_S = 1.0


def worker_spec(cfg: ServerConfig, voice_store: str) -> WorkerSpec:
    # By default the CPUs this process may run on (its affinity), not the node's core count. A CPU limit (cgroup
    # quota) does not show in the affinity: --threads says it.
    threads = cfg.threads or max(1, len(os.sched_getaffinity(0)) // cfg.workers)
    return WorkerSpec(model=cfg.model, device=cfg.device, dtype=cfg.dtype, codec_dtype=cfg.codec_dtype,
                      quantization=cfg.quantization,
                      slots=cfg.max_batch, threads=threads, voice_store=voice_store,
                      cuda_graphs=cfg.cuda_graphs == "on", codec_batching=cfg.codec_batching, log_level=cfg.log_level.upper() if cfg.log_level != "debug" else "DEBUG")


class ServerApp:
    def __init__(self, cfg: ServerConfig, *, metrics: Metrics | None = None):
        self.cfg = cfg
        self.metrics = metrics or create_metrics()
        self._temp_store = None if cfg.voice_store else tempfile.mkdtemp(prefix="qwen3-tts-voices-")
        store = str(cfg.voice_store) if cfg.voice_store else self._temp_store
        self.pool = WorkerPool(worker_spec(cfg, store), cfg.workers, stall_timeout_s=cfg.stall_timeout,
                               on_change=self._pool_changed)
        self.admission = Admission(self.pool, max_queue=cfg.max_queue, queue_timeout_s=cfg.queue_timeout,
                                   on_queue_change=self._queue_changed, slow_client_timeout_s=cfg.slow_client_timeout)
        self.voices = Voices(self.pool)
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self.http: HttpServer | None = None
        self.http_port: int | None = None  # None: the HTTP API is off (http_port 0)
        self.metrics_port: int | None = None
        self.failed: str | None = None
        self._metrics_httpd = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._draining = False
        self._restarts_seen: dict[int, int] = {}

    async def start(self) -> int:
        self._loop = asyncio.get_running_loop()
        cfg = self.cfg
        set_build_info(self.metrics, version=VERSION, model=cfg.model, device=cfg.device, dtype=cfg.dtype)
        if cfg.metrics_port:
            self._metrics_httpd, _ = start_metrics_server(self.metrics, cfg.metrics_port, cfg.metrics_host)
            self.metrics_port = self._metrics_httpd.server_port
        self.pool.start()
        self.admission.start()
        interceptors = [RequestContextInterceptor()]
        if cfg.auth_token_file:
            rejected = self.metrics.requests_rejected.labels(door="grpc", reason="unauthenticated")
            denied = self.metrics.requests_rejected.labels(door="grpc", reason="permission_denied")
            interceptors.append(BearerTokenInterceptor.from_file(
                cfg.auth_token_file,
                on_reject=lambda method, reason: (denied if reason == "INSUFFICIENT_SCOPE" else rejected).inc()))
        interceptors.append(MalformedRequestInterceptor(f"/{SERVICE_NAME}/"))  # innermost: after auth
        options = [("grpc.max_connection_age_ms", int(cfg.max_connection_age * 1000)),
                   ("grpc.max_connection_age_grace_ms", int(cfg.grace_period * 1000))] if cfg.max_connection_age else []
        self.server = grpc.aio.server(interceptors=interceptors, options=options + [
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", cfg.max_message_bytes),
            # A header block over this is refused by the transport (the call fails before any handler runs), and
            # one connection cannot hold more than this many calls open: the rest queue in its client.
            ("grpc.max_metadata_size", cfg.max_metadata_bytes),
            ("grpc.max_concurrent_streams", cfg.max_streams_per_connection),
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            # No BDP probing of our receive windows (requests are small). What bounds the audio sent ahead of a
            # client that stops reading is the *client's* receive window: ~64 KB if it disables BDP probing,
            # up to ~4 MB per stream with grpc's defaults (measured, tests/server/test_e2e_load.py); then our
            # writes block, the credit runs out and the worker pauses the sequence.
            ("grpc.http2.bdp_probe", 0),
        ])
        tts_pb2_grpc.add_TextToSpeechServiceServicer_to_server(
            TextToSpeechService(cfg, self.pool, self.admission, self.voices, self.metrics), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server,
                                            pool=_ReflectionPool(descriptor_pool.Default()))
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)  # the process is alive
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
        address = f"{cfg.host}:{cfg.port}"
        if cfg.tls:
            self.port = self.server.add_secure_port(address, _tls_credentials(cfg))
        else:
            self.port = self.server.add_insecure_port(address)
        await self.server.start()
        if cfg.http_port:
            tokens = TokenSet(load_scoped_tokens(cfg.auth_token_file)) if cfg.auth_token_file else None
            api = HttpApi(cfg, self.pool, self.admission, self.voices, self.metrics, tokens, lambda: self._draining)
            tls = Tls(cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca) if cfg.tls else None
            self.http = HttpServer(api, cfg.http_host, cfg.http_port, tls)
            self.http_port = await self.http.start()
        self._tasks = [self._loop.create_task(self._watch_ready()), self._loop.create_task(self._export_stats())]
        log.info("server.listening", port=self.port, http_port=self.http_port, metrics_port=self.metrics_port,
                 tls=cfg.tls, auth=cfg.auth, workers=cfg.workers, max_batch=cfg.max_batch)
        return self.port

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.to_thread(self.pool.wait_ready, timeout)

    async def stop(self, grace: float | None = None) -> None:
        grace = self.cfg.grace_period if grace is None else grace
        log.info("server.draining", grace_s=grace)
        self._draining = True
        await self.health.enter_graceful_shutdown()
        await self.admission.stop()
        # Both doors drain at once. The gRPC server's stop runs in this task, right after the admission stopped,
        # as before the HTTP door existed: calls that arrive meanwhile are refused by the admission
        # (SHUTTING_DOWN), not cancelled by a server stop scheduled a loop iteration later.
        http_drain = self._loop.create_task(self.http.stop(grace)) if self.http is not None else None
        if self.server is not None:
            await self.server.stop(grace)
        if http_drain is not None:
            await http_drain
        for t in self._tasks:
            t.cancel()
        await asyncio.to_thread(self.pool.close)
        if self._metrics_httpd is not None:
            stop_metrics_server(self._metrics_httpd)
        if self._temp_store:
            shutil.rmtree(self._temp_store, ignore_errors=True)
        log.info("server.stopped")

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()

    # ------------------------------------------------------------------ pool events
    async def _watch_ready(self) -> None:
        try:
            await self.wait_ready()
        except PoolFailed as e:
            self.failed = str(e)
            log.error("server.workers_failed", error=str(e))
            return
        info = self.pool.info
        caps = info.capabilities
        log.info("server.ready", model_type=caps.model_type, model_size=caps.model_size,
                 slots=info.slots, max_context=info.max_context, device=info.device,
                 talker_precision=info.precision.talker, code_predictor_precision=info.precision.code_predictor,
                 codec_precision=info.precision.codec, compute_device=info.precision.machine)
        if caps.model_type == "custom_voice":  # registered voices (Base) can only be checked per request
            for alias, voice in self.cfg.voice_alias_map.items():
                if voice not in caps.speakers:
                    log.warning("server.voice_alias_unknown", alias=alias, voice=voice, speakers=list(caps.speakers))
        await self._sync_health()

    def _pool_changed(self) -> None:
        """On the pool's I/O thread: a worker became ready/stopped, or a request ended (a slot freed)."""
        self.admission.wake()
        if self._loop is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._sync_health(), self._loop)

    async def _sync_health(self) -> None:
        if self._draining:
            return
        serving = self.pool.ready_workers() > 0
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set(SERVICE_NAME, status)

    def _queue_changed(self, waiting: dict) -> None:
        for priority, name in PRIORITY_NAMES.items():
            self.metrics.requests_waiting.labels(priority=name).set(waiting.get(priority, 0))

    async def _export_stats(self) -> None:
        last: dict[int, tuple[int, float]] = {}  # worker -> (steps, decode + codec seconds) at the last look
        while True:
            await asyncio.sleep(STATS_INTERVAL_S)
            running = paused = 0
            for w in self.pool.snapshot():
                wid = str(w["worker"])
                self.metrics.worker_up.labels(worker=wid).set(1 if w["state"] == "ready" else 0)
                seen = self._restarts_seen.get(w["worker"], 0)
                if w["restarts"] > seen:
                    self.metrics.worker_restarts.labels(worker=wid).inc(w["restarts"] - seen)
                    self._restarts_seen[w["worker"]] = w["restarts"]
                stats = w["stats"]
                if stats is not None:
                    self.metrics.worker_free_slots.labels(worker=wid).set(stats.free_slots)
                    running += stats.running
                    paused += stats.paused
                    busy = stats.seconds.get("decode", 0.0) + stats.seconds.get("codec", 0.0)
                    steps0, busy0 = last.get(w["worker"], (stats.steps, busy))
                    last[w["worker"]] = (stats.steps, busy)
                    if stats.steps > steps0:  # the mean step of the interval (workers report cumulative sums)
                        self.metrics.step_duration.observe((busy - busy0) / (stats.steps - steps0))
                        self.metrics.batch_size.observe(stats.running)
            self.metrics.requests_running.set(running)
            self.metrics.requests_paused.set(paused)


class _ReflectionPool:
    """The default descriptor pool as server reflection sees it, also finding the file of a method or field.

    protobuf's upb pool raises KeyError for `qwen3tts.v1.TextToSpeechService.Synthesize` in
    FindFileContainingSymbol, so `grpcurl describe <service>.<method>` failed; such a symbol lives in the file
    of its parent (the service or message).
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool):
        self._pool = pool

    def __getattr__(self, name: str):
        return getattr(self._pool, name)

    def FindFileContainingSymbol(self, symbol: str):  # noqa: N802 - the DescriptorPool method name
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            parent = symbol.rpartition(".")[0]
            if not parent:
                raise
            return self._pool.FindFileContainingSymbol(parent)


def _tls_credentials(cfg: ServerConfig) -> grpc.ServerCredentials:
    key, chain = cfg.tls_key.read_bytes(), cfg.tls_cert.read_bytes()
    ca = cfg.tls_client_ca.read_bytes() if cfg.tls_client_ca else None
    return grpc.ssl_server_credentials([(key, chain)], root_certificates=ca, require_client_auth=ca is not None)
