# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    start the service on this machine (embedded Redis, a worker and the API)
#   make test   lint, type-check and run the whole test suite
# `make test` also installs Debian's chromium (apt-get) for the web app's browser tests.
# Both install exactly what requirements/lock.txt pins (with hashes), so every machine runs
# what CI tested. PYTHON=python3.12 (or 3.13) picks another interpreter; the venv is rebuilt
# whenever the interpreter or the lock changes.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements/lock.txt
# Requirements of the model packages that audiosvc never imports, removed (see the file).
OVERRIDES := requirements/overrides.txt
UVLOCK := requirements/uv.txt
PYVER  := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
ifeq ($(PYVER),)
$(error PYTHON=$(PYTHON) does not run: install Python 3.11 or newer, or name it with PYTHON=...)
endif
STAMP  := $(VENV)/.installed-$(PYVER)-$(shell cat $(LOCK) $(UVLOCK) $(OVERRIDES) pyproject.toml | cksum | cut -d' ' -f1)
UV      = $(BIN)/uv
# The lock covers Linux, macOS and Windows on every Python from 3.11 up.
COMPILE = $(UV) pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	--override $(OVERRIDES)

export HF_HUB_OFFLINE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_NO_CONFIG := 1

.PHONY: run demo test lint pytest browser fuzz test-cpus bench samples lock test-latest clean

# --compile-bytecode: as pip does, so no first run compiles (and warns about) a dependency's
# source: pydub's invalid escapes print SyntaxWarnings on Python 3.12+ otherwise.
$(STAMP): $(LOCK) $(UVLOCK) $(OVERRIDES) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(UVLOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --require-hashes -r $(LOCK) \
		--override $(OVERRIDES)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@touch $@

run: $(STAMP)
	$(BIN)/audiosvc serve

demo: $(STAMP)
	$(BIN)/audiosvc transcribe samples/meeting.m4a --format srt

LINT_PATHS := audiosvc workers tests samples bench

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

pytest: $(STAMP) browser
	$(BIN)/python -m pytest

# The web app's tests drive a real browser: Debian's Chromium, installed from the system's
# packages when it is missing, as `playwright install-deps` installs a browser's libraries
# (Playwright's own browser download is not used). The one system package of the project,
# and only for its tests; AUDIOSVC_CHROMIUM names another Chromium or Chrome instead.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ -n "$$AUDIOSVC_CHROMIUM" ] || command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the web app's browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "the browser tests need Chromium: install it, or name it with AUDIOSVC_CHROMIUM"; fi

test: lint pytest

# The fuzzer over every endpoint of the service's own OpenAPI document, harder than in `make
# test` (50 requests per endpoint, the same every run): 500 each, new ones every run.
fuzz: $(STAMP)
	AUDIOSVC_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests/service/test_fuzz.py

# The model-output tests (WER, recall, DER, words over sound, speaker accuracy) once for each
# set of instruction sets CTranslate2, oneDNN, OpenBLAS and numpy can be forced to here, with
# each measure's lowest and highest (tests/cpu_spread.py; about 80 minutes on 2 cores). Run it
# before changing a bound, and set the bound with margin over all of them. `make test-cpus
# SETS="native oldest"` runs some of the sets.
test-cpus: $(STAMP) browser
	$(BIN)/python tests/cpu_spread.py $(SETS)

# Refresh the lock on purpose, in a commit of its own: run `make test-latest` first, since it
# tries exactly what this would pin.
lock: $(STAMP)
	$(COMPILE) --upgrade requirements/uv.in -o $(UVLOCK)
	$(COMPILE) --upgrade pyproject.toml --extra test requirements/build.in -o $(LOCK)
	$(COMPILE) pyproject.toml requirements/build.in -c $(LOCK) -o requirements/runtime.txt

# The drift check: the newest releases the resolver finds today, resolved into a candidate lock
# (what `make lock` would pin), installed into a throwaway venv, running the same test suite.
# A release that changes what the models hear is seen here first, not by a user on a fresh
# clone. It prints which versions would move. The one test it leaves out is the one that
# checks the venv against the committed lock.
LATEST := .venv-latest
test-latest: $(STAMP)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(COMPILE) --upgrade pyproject.toml --extra test requirements/build.in -o $(LATEST)/lock.txt
	@echo "versions that would move (- locked, + newest):"
	@moved=$$(diff <(grep -E '^[a-z0-9]' $(LOCK)) <(grep -E '^[a-z0-9]' $(LATEST)/lock.txt) \
		| grep '^[<>]' | sed 's/^</  -/;s/^>/  +/;s/ \\$$//'); echo "$${moved:-  none}"
	$(UV) pip install --quiet --compile-bytecode --python $(LATEST)/bin/python --require-hashes -r $(LATEST)/lock.txt \
		--override $(OVERRIDES)
	$(UV) pip install --quiet --python $(LATEST)/bin/python --no-deps --no-build-isolation -e .
	$(LATEST)/bin/python -m pytest \
		--deselect tests/test_lock.py::test_the_venv_holds_exactly_the_lock

bench: $(STAMP)
	cd bench && for s in word_times pipeline_vs_raw batched_engine long_job chunk_throughput memory \
		service_vs_cli lanes remote_parallel api_memory concurrent_jobs voicebot_latency \
		diarization webapp realtime_latency; do \
		../$(BIN)/python $$s.py || exit 1; done

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache .mypy_cache .ruff_cache .hypothesis
