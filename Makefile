# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    start the service on this machine (embedded Redis, a worker, the API)
#   make test   lint, type-check and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export HF_HUB_OFFLINE := 1

.PHONY: run demo test lint bench samples clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/audiosvc serve

demo: $(STAMP)
	$(BIN)/audiosvc transcribe samples/meeting.m4a --format srt

LINT_PATHS := audiosvc workers tests samples $(wildcard bench)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	cd bench && for s in pipeline_vs_raw chunk_throughput memory service_vs_cli \
		remote_parallel api_memory concurrent_jobs voicebot_latency; do ../$(BIN)/python $$s.py || exit 1; done

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
