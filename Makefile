# Two commands for a newcomer: `make run` (set up + run) and `make test` (set up + test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Default model: the official 0.6B CustomVoice checkpoint (downloaded once into the HF cache); when the hub is
# unreachable `make run` falls back to a built-in random checkpoint (its audio is noise) and says so.
MODEL ?= Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice
TINY := .cache/checkpoints/tiny
THREADS ?= 2
# Protobuf API: sources and checked-in Python stubs side by side in protos/ (package `qwen3tts`).
PROTO_SRC := $(shell find protos -name '*.proto' | LC_ALL=C sort)
PROTOC := $(PY) -m grpc_tools.protoc -Iprotos
# buf (lint + format check) from npm, pinned; `npx --yes` fetches it on first use and fails if it cannot.
BUF_VERSION ?= 1.75.0
BUF := npx --yes @bufbuild/buf@$(BUF_VERSION)

.PHONY: setup run test test-slow bench bench-peers quality-gate lint clean proto proto-check proto-lint gpu-check browser \
	deploy-check fuzz soak load faults scale-demo

setup: $(VENV)/.installed

# torch first, from the pinned CPU wheel, so that no dependency can pull a multi-GB CUDA build.
# The official qwen-tts package is a test-only oracle: installed without its unused heavy dependencies.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,oracle]'
	$(PIP) install -q --no-deps qwen-tts==0.1.1
	touch $@

$(TINY)/config.json: | setup
	$(PY) -m tools.make_checkpoint --preset tiny --out $(TINY)

run: setup $(TINY)/config.json
	$(PY) -m tools.run_default --model $(MODEL) --fallback $(TINY) $(ARGS)

test: setup
	$(PY) -m pytest -q

# Chromium from Debian's packages, for the playground's browser test (tests/server/test_e2e_playground.py drives
# it with Playwright, which never downloads a browser). Idempotent; needs root or sudo the first time.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ -x /usr/bin/chromium ]; then echo "browser: $$(/usr/bin/chromium --version 2>/dev/null | head -1)"; else \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; fi

test-slow: setup
	$(PY) -m pytest -q -m slow

# On a GPU machine (a CUDA build of torch in .venv): correctness and speed of the GPU path in one JSON
# (gpu-check.json); fails loudly without CUDA. docs/benchmarks.md, "GPU".
gpu-check: setup
	$(PY) -m tools.gpu_check --device cuda --out gpu-check.json

bench: setup
	$(PY) -m benchmarks.engine_speed --threads $(THREADS) --compile
	$(PY) -m benchmarks.codec_speed --threads $(THREADS)
	$(PY) -m benchmarks.voice_registration --threads $(THREADS)
	$(PY) -m benchmarks.concurrency --threads $(THREADS)
	$(PY) -m benchmarks.grpc_ttfa
	$(PY) -m benchmarks.text_frontend
	$(PY) -m benchmarks.long_text --threads $(THREADS)
	$(PY) -m benchmarks.encoders
	$(PY) -m benchmarks.stream_input
	$(PY) -m benchmarks.stream_input --door websocket
	OMP_WAIT_POLICY=PASSIVE $(PY) -m benchmarks.http_ttfa
	OMP_WAIT_POLICY=PASSIVE $(PY) -m benchmarks.idle_sessions

# Our precision modes against the vox CPU engine on the same checkpoint (docs/benchmarks.md). vox lives in its
# own benchmark-only venv, created here; nothing of it is installed into the product's venv.
PEERS_VENV := .cache/peers-venv
VOX_VERSION ?= 0.19.5
$(PEERS_VENV)/.installed:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q vox-tts==$(VOX_VERSION)
	touch $@

bench-peers: setup $(PEERS_VENV)/.installed
	$(PY) -m benchmarks.peers --threads $(THREADS) --peer-python $(PEERS_VENV)/bin/python

# Numerics of every low-precision mode against float32 on the real-dimension random checkpoint (slow: minutes).
quality-gate: setup
	$(PY) -m tools.quality_gate --frames 200 --modes auto int8 bf16

# ---- reliability suites (docs/reliability.md). Each starts its own real servers; run one at a time.
# Fuzz both doors and the wire with a random seed: >= 10,000 requests to one real server (fails below that);
# every answer OK or a documented status naming its field, no worker restart. ~4 min on 2 cores (17,605 requests).
FUZZ_EXAMPLES ?= 1100
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 FUZZ_MIN_REQUESTS=10000 $(PY) -m pytest -q -s -p no:cacheprovider \
		tests/reliability/test_fuzz_grpc.py tests/reliability/test_fuzz_http.py tests/reliability/test_fuzz_websocket.py \
		tests/reliability/test_fuzz_wire.py

# A 10-minute live stream, then 10 minutes of mixed traffic; RSS/fds/threads sampled every 10 s. ~22 min.
# Writes out/reliability/soak.json and docs/reliability-soak.png.
soak: setup
	$(PY) -m benchmarks.reliability.soak --minutes 10

# Concurrency ramp 1..64 clients, 30 s each, until the admission queue sheds. ~5 min.
# Writes out/reliability/load.json and docs/reliability-load.png.
load: setup
	$(PY) -m benchmarks.reliability.load_curve

# Every fault-injection test (hung and dying workers, SIGTERM mid-burst, slow and never-reading clients, idle
# connections and cancel storms, a full or damaged voice store). ~3 min; the tmpfs test needs root.
faults: setup
	$(PY) -m pytest -q -s -m faults tests/reliability

# Two replicas behind nginx (Debian's package, installed on first use): spread over both doors, then one drained
# by SIGTERM while clients keep going. ~1 min.
scale-demo: setup
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q nginx-light || \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q nginx; }
	$(PY) -m pytest -q -s -m scale tests/reliability/test_scale_out.py

# Regenerate the Python stubs (messages, gRPC services, type stubs) next to the .proto sources.
proto: setup
	$(PROTOC) --python_out=protos --pyi_out=protos --grpc_python_out=protos $(PROTO_SRC)

# Fail if the checked-in stubs differ from freshly generated ones (or a stub has no .proto any more).
proto-check: setup
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PROTOC) --python_out="$$tmp" --pyi_out="$$tmp" --grpc_python_out="$$tmp" $(PROTO_SRC) && \
	if diff -r -x '*.proto' -x '__init__.py' -x 'py.typed' -x '__pycache__' "$$tmp" protos; then \
		echo "proto-check: generated stubs are up to date"; \
	else \
		echo "proto-check: the checked-in stubs are stale; run 'make proto' and commit the result" >&2; exit 1; \
	fi

# buf lint (STANDARD + COMMENTS, see buf.yaml) and buf's formatting check. Needs node/npx and the npm registry.
proto-lint:
	@command -v npx >/dev/null || { echo "proto-lint: npx (node/npm) is required to run buf" >&2; exit 1; }
	$(BUF) lint
	$(BUF) format --diff --exit-code

# The deployment checked, no cluster needed (~5 s; also part of `make test`): the Kubernetes manifests render with
# kustomize (kubectl from PyPI) alone and with each component, validate strictly against the Kubernetes 1.37
# schemas (kubernetes-validate), the probes follow docs/api.md, and the Dockerfile lints clean (hadolint).
deploy-check: setup
	$(PY) -m pytest -q tests/reliability/test_deploy_manifests.py

lint: setup
	$(VENV)/bin/ruff check contract tts workers server client tests benchmarks tools

clean:
	rm -rf $(VENV) .cache out
