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

.PHONY: setup run test test-slow bench lint clean

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
	$(PY) -m workers.tools.make_checkpoint --preset tiny --out $(TINY)

run: setup $(TINY)/config.json
	$(PY) -m workers.tools.run_default --model $(MODEL) --fallback $(TINY) --threads $(THREADS)

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

bench: setup
	$(PY) -m benchmarks.engine_speed --threads $(THREADS) --compile
	$(PY) -m benchmarks.codec_speed --threads $(THREADS)

lint: setup
	$(VENV)/bin/ruff check workers tests benchmarks

clean:
	rm -rf $(VENV) .cache out
