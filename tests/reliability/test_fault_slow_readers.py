"""100 clients that start a stream and never read it, while two honest listeners are mid-stream.

What holds: the honest streams keep their pace (no gap between chunks above GAP_BOUND_S) and finish OK; the
server's memory stays bounded (credit: a worker runs at most 25 frames ahead of what a stream has taken, and the
clients' HTTP/2 windows are small: BDP probing off, as docs/client.md advises); the non-readers hold slots only
for slow_client_timeout, then their generation is stopped (RESOURCE_EXHAUSTED CLIENT_TOO_SLOW once they read);
when they are gone, every slot is free and every gauge is back to 0."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from qwen3tts.v1 import tts_pb2_grpc
from tests.e2e import LONG_SEED, LONG_TEXT, collect, request, running_server, scrape, wait_for
from tests.reliability import procstat

pytestmark = pytest.mark.faults
NON_READERS = 100
MAX_BATCH = 8
GAP_BOUND_S = 2.0  # an honest stream's longest silence between chunks (steps of 8 rows on a busy 2-core box)
RSS_BOUND_KB = 64 * 1024  # the server process may grow by at most this while the non-readers hang


def test_clients_that_never_read_do_not_hurt_the_others(make_ckpt):
    with running_server(make_ckpt("tiny"), "--max-batch", str(MAX_BATCH), "--max-queue", "128",
                        "--slow-client-timeout", "3", "--queue-timeout", "60") as server:
        stub = server.stub()
        rss0 = procstat.usage(server.proc.pid).rss_kb
        honest: list = []

        def listen(i: int) -> None:
            call = stub.Synthesize(request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=12_000), timeout=300)
            gaps, last = [], None
            s = collect(call, limit=1)
            for response in call:
                now = time.monotonic()
                if response.WhichOneof("event") == "audio":
                    if last is not None:
                        gaps.append(now - last)
                    last = now
                s.events.append(response.WhichOneof("event"))
            honest.append((s, gaps))

        listeners = [threading.Thread(target=listen, args=(i,)) for i in range(2)]
        for t in listeners:
            t.start()
        time.sleep(2)
        channels = [grpc.insecure_channel(server.address, options=[("grpc.http2.bdp_probe", 0)])
                    for _ in range(NON_READERS)]
        calls = [tts_pb2_grpc.TextToSpeechServiceStub(ch).Synthesize(
            request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=300) for ch in channels]
        peak = rss0
        while any(t.is_alive() for t in listeners):
            peak = max(peak, procstat.usage(server.proc.pid).rss_kb)
            time.sleep(0.5)
        for s, gaps in honest:
            assert s.events[-1] == "finished", s.events[-3:]
            assert max(gaps) < GAP_BOUND_S, f"an honest stream stalled {max(gaps):.2f} s"
        assert peak - rss0 < RSS_BOUND_KB, f"the server grew {(peak - rss0) / 1024:.0f} MiB"
        stopped = scrape(server).total("qwen3tts_requests_cancelled_total")
        for c in calls:
            c.cancel()
        for ch in channels:
            ch.close()
        g = lambda: scrape(server)  # noqa: E731
        wait_for(lambda: g().get("qwen3tts_requests_running") == 0 and g().total("qwen3tts_requests_waiting") == 0
                 and g().total("qwen3tts_worker_free_slots") == MAX_BATCH, 30, 0.5, "gauges back to 0, slots free")
        assert g().total("qwen3tts_worker_restarts_total") == 0
        print(f"non-readers: server RSS +{(peak - rss0) / 1024:.1f} MiB at peak; honest max gap "
              f"{max(max(x[1]) for x in honest):.2f} s; cancelled so far {stopped:.0f}")
