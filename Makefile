# hcl — the commands a newcomer needs: `make tutorial` and `make test`. `make help` lists all.
PYTHON ?= python3
VENV ?= .venv
# CPU users get the small CPU build; GPU users: make setup TORCH_SPEC="torch==2.13.0 --index-url <your CUDA index>"
TORCH_SPEC ?= torch==2.13.0
DATA ?= data/mini-iharmony4
VAL ?= data/mini-val
MIXED ?= data/mini-mixed-1200-outlined
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONUNBUFFERED := 1

NOTEBOOKS := $(sort $(wildcard notebooks/0*.ipynb))
PAPERMILL = $(PY) -m papermill --cwd notebooks --log-output --kernel python3 --request-save-on-cell-execute

.PHONY: help setup data data-val data-mixed demo-data demo-switches demo-steps demo-widths drawn-outlines other-colour-changes weight-average foreground-jitter more-outlines tutorial notebooks test test-fast test-browser lab bench ablation ablation-tiny tiny-recipe table-vii fusion-variants demo-checkpoint gpu-check clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

setup: $(VENV)/.installed  ## create .venv: a CPU torch if none imports, then hcl with JupyterLab, widgets and test tools

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[notebooks,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hcl)" >/dev/null
	touch $@

data: setup $(DATA)/mini.json  ## build the mini-iHarmony4 (400 train / 100 test triples, 256 px) in data/

$(DATA)/mini.json:
	$(PY) -m hcl data make-mini $(DATA)

data-val: setup $(VAL)/mini.json  ## a photo-disjoint validation set: the training photos 'china' and 'ladybird' held out

$(VAL)/mini.json:
	$(PY) -m hcl data make-mini $(VAL) --holdout china,ladybird

data-mixed: setup $(MIXED)/mini.json  ## the demo's training set: 400 outline triples (ten more photos too) plus 1200 on generated regions

$(MIXED)/mini.json:
	$(PY) -m hcl data make-mini $(MIXED) --masks mixed --generated-train 1200 --extra-outlines

tutorial: setup data  ## execute every notebook at its default parameters into build/tutorial/; figures go to figures/
	mkdir -p build/tutorial figures
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		$(PAPERMILL) $$nb build/tutorial/$$(basename $$nb) -p DATA_ROOT ../$(DATA) -p FIGURES ../figures || exit 1; \
	done
	@echo "executed notebooks: build/tutorial/, figures: figures/"

notebooks: tutorial  ## refresh the committed notebooks with the outputs of a full default run
	$(PY) -m hcl.notebook_tools strip build/tutorial notebooks

test: setup  ## unit tests, then every notebook executed once (small parameters) under nbval; the slowest printed
	$(PY) -m pytest tests -q --durations=15
	$(PY) -m tests.ci_notebooks build/ci-notebooks
	$(PY) -m pytest --nbval-lax -q -p no:cacheprovider --durations=15 build/ci-notebooks

test-fast: setup  ## the inner loop: unit tests without those marked slow (training runs, torchrun, the CLI end to end)
	$(PY) -m pytest tests -q -m "not slow" --durations=5

test-browser: setup  ## JupyterLab in headless Chromium: every widget driven, screenshots in build/browser/
	$(PY) -m tests.browser.run

lab: setup data  ## open the notebooks in JupyterLab with the project's kernel
	$(VENV)/bin/jupyter lab notebooks

bench: setup data  ## benchmarks: JSON in benchmarks/results/, figures in figures/
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_contrastive.py
	$(PY) benchmarks/bench_system.py
	$(PY) benchmarks/bench_time_to_quality.py

# the committed ablation: the Table VI ladder on `demo`, three paired seeds per row, on the validation set
ABLATION_ROWS := 1-l1,2-pixel,3-fusion,4-hcl
ablation: setup data-val  ## remake the committed Table VI ablation on the validation set (about an hour on 2 cores; reuses finished runs)
	$(PY) -m hcl ablate --data $(VAL) --out results/ablation --rows $(ABLATION_ROWS) --seeds 3 --steps 300 --image-size 128

# Table VII: K, named by the paper's value at 256 px and scaled with the sampling map (row 4 is the paper's 256)
K_ROWS := 4-k-128,4-k-512,4-k-1024
table-vii: setup data-val  ## Table VII's K rows into the committed ablation, two paired seeds each (about 40 minutes on 2 cores)
	$(PY) -m hcl ablate --data $(VAL) --out results/ablation --rows $(K_ROWS) --seeds 2 --steps 300 --image-size 128

# How `tiny`'s batch, schedule, crops, jitter, length and size were chosen (notebook 05 shows results/tiny-recipe)
tiny-recipe: setup data-val  ## tiny's settings on the validation set, 250-1000 steps per recipe (about 2.5 hours on 2 cores)
	$(PY) tools/tiny_recipe.py --data $(VAL) --out results/tiny-recipe

demo-data: setup data-val  ## the demo's training set chosen on validation: outlines vs outlines + generated regions, more photos, more objects, longer (about 3.5 hours)
	$(PY) tools/demo_data.py --out results/demo-data

demo-switches: setup data-val  ## which of the demo's switches carry its gain: each turned back to tiny's value, three paired seeds (about 2.5 hours)
	$(PY) tools/demo_switches.py --out results/demo-switches --seeds 0,1,2

demo-steps: setup data-val  ## the demo's 300 steps against tiny's 500, around today's demo, three paired seeds (about 35 minutes)
	$(PY) tools/demo_switches.py --out results/demo-steps --seeds 0,1,2 --rows "steps 500"

demo-widths: setup data-val  ## the demo with the narrower widths tiny's rule picked (8-64), three paired seeds (about 30 minutes; 15 where the demo's committed runs are reused, which a change of the training code prevents)
	$(PY) tools/demo_switches.py --out results/demo-widths --seeds 0,1,2 --rows "widths 8-64"

DRAWN := build/drawn-outlines
drawn-outlines: setup data-val  ## the demo on outlines as drawn by hand (not snapped to edges), and trained on them too, on two folds of validation photos, three paired seeds (about 2 hours)
	$(PY) tools/annotate_bundled.py --unsnapped --out $(DRAWN)/bundled.json
	$(PY) tools/annotate_bundled.py --unsnapped --rough tools/rough_outlines_extra.json --out $(DRAWN)/extra.json
	$(PY) tools/drawn_outlines.py --drawn $(DRAWN)/bundled.json --drawn-extra $(DRAWN)/extra.json --out results/drawn-outlines
	$(PY) tools/drawn_outlines.py --drawn $(DRAWN)/bundled.json --drawn-extra $(DRAWN)/extra.json --out results/drawn-outlines \
		--holdout astronaut,chelsea

foreground-jitter: setup data-val  ## the demo with a new foreground colour change each time a crop is drawn (F 0.3, then 0.15), against its runs without: two folds, three paired seeds (about 80 minutes)
	$(PY) tools/annotate_bundled.py --unsnapped --out $(DRAWN)/bundled.json
	$(PY) tools/foreground_jitter.py --drawn $(DRAWN)/bundled.json
	$(PY) tools/foreground_jitter.py --drawn $(DRAWN)/bundled.json --foreground-jitter 0.15

more-outlines: setup data-val  ## the demo trained with 16 more objects outlined in the extra photos, against its runs without: two folds, three paired seeds (about 40 minutes)
	$(PY) tools/annotate_bundled.py --unsnapped --out $(DRAWN)/bundled.json
	$(PY) tools/more_outlines.py --drawn $(DRAWN)/bundled.json

weight-average: setup data-val  ## the demo's weights averaged over its last third, and three seeds' outputs averaged, against single runs: two folds (about 50 minutes)
	$(PY) tools/annotate_bundled.py --unsnapped --out $(DRAWN)/bundled.json
	$(PY) tools/weight_average.py --drawn $(DRAWN)/bundled.json
	$(PY) tools/seed_ensemble.py --drawn $(DRAWN)/bundled.json

other-colour-changes: setup data data-val  ## the shipped demo and notebook 05's latest tiny run (without one, the JSON has no tiny column: run make tutorial first) on four colour changes hcl never makes, test photos, drawn and snapped outlines (about 5 minutes; nothing trained)
	$(PY) tools/annotate_bundled.py --unsnapped --out $(DRAWN)/bundled.json
	test -f data/mini-drawn/mini.json || $(PY) -m hcl data make-mini data/mini-drawn --annotations $(DRAWN)/bundled.json
	test -f data/mini-drawn-val/mini.json || $(PY) -m hcl data make-mini data/mini-drawn-val \
		--annotations $(DRAWN)/bundled.json --holdout china,ladybird
	$(PY) tools/other_colour_changes.py --baselines-only --data data/mini-drawn-val --data $(VAL) \
		--out results/other-colour-changes/validation_baselines.json --build build/other-colour-changes-val
	$(PY) tools/other_colour_changes.py --data data/mini-drawn --data $(DATA) --checkpoint demo=shipped \
		$$(ls -t runs/notebook05-*/checkpoints/last.pt 2>/dev/null | head -n 1 | sed 's|^|--checkpoint tiny=|')

# the Table VI ladder on the paper's network (`tiny`), and L_HCL's MLP on standardized windows (the preset) and on raw ones
TINY_ABLATION_ROWS := 1-l1,2-pixel,3-fusion,4-hcl,4-patch-norm-none
ablation-tiny: setup data-val  ## Table VI's ladder and L_HCL's window standardization on `tiny`, three paired seeds (about 35 minutes on 2 cores; 2 hours 10 at the earlier widths 16-128)
	$(PY) -m hcl ablate --data $(VAL) --out results/ablation-tiny --base tiny --rows $(TINY_ABLATION_ROWS) --seeds 3 --steps 300 --image-size 128

# Figs. 8-9: row 4 with each fusion block, validated every 50 steps for the curves
FUSION_ROWS := 4-hcl,4-fusion-none,4-fusion-adain,4-fusion-rain
fusion-variants: setup data-val  ## Figs. 8-9: the four fusion blocks trained side by side, two paired seeds (about 50 minutes on 2 cores)
	$(PY) -m hcl ablate --data $(VAL) --out results/fusion-variants --rows $(FUSION_ROWS) --seeds 2 --steps 300 --image-size 128 --val-every 50

# the `demo` preset (our own method at CPU size: 300 steps at 128 px, K 64, no colour jitter; its switches were
# chosen together on the validation set, one seed each, with earlier code: see the README)
DEMO_RECIPE := --config demo
# trained on object outlines *and* generated regions (data-mixed; its outline triples and test split are data/'s),
# chosen on the validation set with paired seeds (make demo-data, results/demo-data)
DEMO_DATA := $(MIXED)
DEMO_SEEDS := 0 1 2
DEMO_RUNS := $(foreach seed,$(DEMO_SEEDS),runs/demo-seed$(seed))
DEMO_COMMAND := make demo-checkpoint: hcl train $(DEMO_RECIPE) --data $(DEMO_DATA) --seed S --out runs/demo-seedS for S in $(DEMO_SEEDS), their outputs averaged
# three seeds of the recipe, their outputs averaged (hcl.ensemble; measured on validation: make weight-average)
demo-checkpoint: setup data-mixed  ## retrain the shipped demo checkpoint: `demo` on seeds 0, 1, 2, outputs averaged (about 20 minutes on 2 cores, its data included; see the README)
	@for run in $(DEMO_RUNS); do test ! -e $$run || { echo "$$run exists: move it away first (nothing is deleted for you)"; exit 1; }; done
	for seed in $(DEMO_SEEDS); do $(PY) -m hcl train $(DEMO_RECIPE) --data $(DEMO_DATA) --seed $$seed --out runs/demo-seed$$seed || exit 1; done
	$(PY) -c "from hcl.checkpoint import *; export_inference_checkpoint([load_checkpoint(run + '/checkpoints/last.pt') for run in '$(DEMO_RUNS)'.split()], DEMO_CHECKPOINT, {'command': '$(DEMO_COMMAND)'})"

gpu-check: setup data  ## the paper config on CUDA: step time, memory, FLOP/s, falling losses (JSON)
	$(PY) benchmarks/gpu_check.py --data $(DATA) --out benchmarks/results/gpu_check.json

clean:  ## remove build outputs (keeps .venv, data/ and runs/)
	rm -rf build .pytest_cache .hypothesis
