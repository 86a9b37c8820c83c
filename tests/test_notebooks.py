"""Every notebook executes under papermill with small parameters (CI sizes).

The executed copies land in build/ci-notebooks/; `make test` then runs them again under
`pytest --nbval-lax`, which re-executes them with the same injected parameters and compares the
outputs marked ``# NBVAL_CHECK_OUTPUT`` (parameter counts and shapes)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, build_ci_mini

NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))
OUT = REPO / "build" / "ci-notebooks"
RUNS = REPO / "build" / "ci-runs"
FIGURES = REPO / "build" / "ci-figures"

CI_PARAMETERS = {
    "01_dataset": {"IMAGE_SIZE": 64, "BUILD_IF_MISSING": False},
    "02_encoder_decoder": {"IMAGE_SIZE": 64},
    "03_style_fusion": {"IMAGE_SIZE": 64},
    "04_region_contrastive": {"IMAGE_SIZE": 64, "K": 32, "OPT_STEPS": 5, "EXPLORER_K": 8},
    "05_training": {"RUN_DIR": str(RUNS / "nb05"), "STEPS": 4, "IMAGE_SIZE": 32, "BATCH_SIZE": 4, "WORKERS": 0,
                    "REUSE": False},
    "06_evaluation": {"IMAGE_SIZE": 64, "QUALITATIVE": 2, "ABLATION_DIR": str(RUNS / "ablation"), "ABLATION_STEPS": 3,
                      "ABLATION_SIZE": 32, "ABLATION_SEEDS": [0], "RESOLUTIONS": [32, 64], "REUSE": False},
}


def test_every_notebook_has_ci_parameters_and_a_parameters_cell_first():
    assert [nb.stem for nb in NOTEBOOKS] == sorted(CI_PARAMETERS)
    for notebook in NOTEBOOKS:
        cells = json.loads(notebook.read_text())["cells"]
        first_code = next(c for c in cells if c["cell_type"] == "code")
        assert "parameters" in first_code["metadata"].get("tags", []), notebook.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_executes_with_small_parameters(notebook):
    import papermill

    parameters = {"DATA_ROOT": str(build_ci_mini()), "FIGURES": str(FIGURES), **CI_PARAMETERS[notebook.stem]}
    OUT.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(notebook), str(OUT / notebook.name), parameters=parameters,
                               cwd=str(notebook.parent), kernel_name="python3", progress_bar=False)
    executed = json.loads((OUT / notebook.name).read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
