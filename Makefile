# Every target installs what it needs into .venv first; nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast lint format bench bench-compare quality clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python train.py -c configs/demo.yaml
	$(BIN)/python infer.py --in data/samples --out out/demo --overwrite --compare
	@echo "demo done: colorized samples are in out/demo/ (side by side with the originals: out/demo-compare/)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py

bench: $(STAMP)
	$(BIN)/unet-resnet bench

bench-compare: $(STAMP)
	$(BIN)/python benchmarks/compare.py --markdown
