# Every target installs what it needs into .venv first; nothing is installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# TORCH=cpu (or cu126, ...): torch and torchvision from that wheel index of download.pytorch.org first; the CPU
# wheels carry no CUDA libraries. Empty: torch from PyPI. An existing .venv keeps its torch: `make clean` to switch.
TORCH  ?=
TORCH_INDEX := https://download.pytorch.org/whl/$(TORCH)

.PHONY: install demo app chromium test test-fast lint format bench bench-compare quality clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH),$(BIN)/python -m pip install -q torch torchvision --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[test,dev,app]"
	touch $(STAMP)

install: $(STAMP)

# trains runs/demo (continues it when it exists: delete runs/demo to train it again), then colorizes the sample
# photos it did not train on (data/samples/demo_shown.txt)
demo: $(STAMP)
	@if [ -f runs/demo/last.pt ]; then \
		echo "runs/demo exists: continuing it (delete runs/demo to train the demo again)"; \
		$(BIN)/python train.py --resume runs/demo/last.pt; \
	else $(BIN)/python train.py -c configs/demo.yaml; fi
	$(BIN)/python infer.py --ckpt runs/demo/best.pt --in data/samples/demo_shown.txt --out out/demo --overwrite --compare
	@echo "demo done: photos the model never trained on, colorized in out/demo/; out/demo-compare/ shows each as gray | model | truth"

# the local web app on http://127.0.0.1:7860/ (the demo's model, runs/demo/best.pt; see docs/app.md)
app: $(STAMP)
	$(BIN)/unet-resnet app

# Chromium for the browser test: installed with apt-get when missing and root; otherwise that test skips, saying why
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "note: Chromium is missing and installing it needs root (apt-get install chromium): the browser test will skip"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# --durations: the slowest tests are listed in every run (and in CI's log), so a test that grows slow is seen
test: lint chromium
	$(BIN)/python -m pytest --durations=15

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
