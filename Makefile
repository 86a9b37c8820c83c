# hcl — the commands a newcomer needs: `make tutorial` and `make test`. `make help` lists all.
PYTHON ?= python3
VENV ?= .venv
# CPU users get the small CPU build; GPU users: make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA index>"
TORCH_SPEC ?= torch==2.13.0
DATA ?= data/mini-iharmony4
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONUNBUFFERED := 1

NOTEBOOKS := $(sort $(wildcard notebooks/0*.ipynb))

.PHONY: help setup data tutorial test bench demo-checkpoint clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

setup: $(VENV)/.installed  ## create .venv, install a CPU torch if none imports, then hcl with its extras

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[notebooks,test]"
	touch $@

data: setup $(DATA)/mini.json  ## build the mini-iHarmony4 (400 train / 100 test triples, 256 px) in data/

$(DATA)/mini.json:
	$(PY) -m hcl data make-mini $(DATA)

tutorial: setup data  ## execute every notebook at its default parameters; figures go to figures/
	mkdir -p build/tutorial figures
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		$(PY) -m papermill --cwd notebooks --log-output $$nb build/tutorial/$$(basename $$nb) \
			-p DATA_ROOT ../$(DATA) -p FIGURES ../figures || exit 1; \
	done
	@echo "executed notebooks: build/tutorial/, figures: figures/"

test: setup  ## unit tests, notebooks under papermill with small parameters, then nbval on them
	$(PY) -m pytest tests -q
	$(PY) -m pytest --nbval-lax -q -p no:cacheprovider build/ci-notebooks

bench: setup data  ## benchmarks: JSON in benchmarks/results/, figures in figures/
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_contrastive.py
	$(PY) benchmarks/bench_system.py

DEMO_TRAIN := $(PY) -m hcl train --config tiny --data data/mini-iharmony4-2000 --out runs/demo \
	--loss-weights 0.4 0.5 0.0 --colour-jitter 0.1 --val-every 500 --workers 1 --device cpu

demo-checkpoint: setup  ## retrain the shipped demo checkpoint (about 22 minutes on 2 cores)
	test -f data/mini-iharmony4-2000/mini.json || $(PY) -m hcl data make-mini data/mini-iharmony4-2000 --train 2000 --seed 0
	rm -rf runs/demo
	$(DEMO_TRAIN) --steps 3000 --image-size 128
	$(DEMO_TRAIN) --steps 4000 --image-size 128 --lr 2e-4 --resume
	$(PY) -c "from hcl.checkpoint import *; export_inference_checkpoint(load_checkpoint('runs/demo/checkpoints/last.pt'), \
		DEMO_CHECKPOINT, {'command': 'make demo-checkpoint (see README: The shipped demo checkpoint)'})"

clean:  ## remove build outputs (keeps .venv and data/)
	rm -rf build .pytest_cache .hypothesis
