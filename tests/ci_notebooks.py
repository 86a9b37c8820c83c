"""Copies of the committed notebooks with small (CI) parameters, for ``pytest --nbval-lax``.

``python -m tests.ci_notebooks OUT`` writes ``OUT/0*.ipynb``: each committed notebook (with its
outputs) plus a cell after its ``parameters`` cell that sets the CI sizes. nbval then executes every
notebook once and compares the outputs marked ``# NBVAL_CHECK_OUTPUT`` (parameter counts, shapes)
with the committed ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hcl.notebook_tools import dump, load, parameterize

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))
CI_MINI = REPO / "build" / "ci-mini"
RUNS = REPO / "build" / "ci-runs"
FIGURES = REPO / "build" / "ci-figures"

CI_PARAMETERS = {
    "01_dataset": {"IMAGE_SIZE": 64, "BUILD_IF_MISSING": False},
    "02_encoder_decoder": {"IMAGE_SIZE": 64},
    "03_style_fusion": {"IMAGE_SIZE": 64, "CHECKPOINT": None},
    "04_region_contrastive": {"IMAGE_SIZE": 64, "K": 32, "OPT_STEPS": 5, "EXPLORER_K": 8, "MLP_STEPS": 3,
                              "MLP_ALONE_SETS_FILE": str(REPO / "results" / "hcl_mlp_alone_sets.json")},
    "05_training": {"RUNS_DIR": str(RUNS), "STEPS": 4, "IMAGE_SIZE": 32, "BATCH_SIZE": 4, "WORKERS": 0,
                    "VAL_IMAGES": 4, "OVERFIT_STEPS": 3,
                    "TINY_RECIPE_FILE": str(REPO / "results" / "tiny-recipe" / "tiny_recipe.json")},
    "06_evaluation": {"IMAGE_SIZE": 64, "QUALITATIVE": 2, "RUNS_DIR": str(RUNS),
                      "ABLATION_DIR": str(REPO / "results" / "ablation"),
                      "FUSION_DIR": str(REPO / "results" / "fusion-variants"),
                      "TINY_ABLATION_DIR": str(REPO / "results" / "ablation-tiny"),
                      "DEMO_DATA_DIR": str(REPO / "results" / "demo-data"),
                      "DEMO_SWITCHES_DIR": str(REPO / "results" / "demo-switches"),
                      "DRAWN_DIR": str(REPO / "results" / "drawn-outlines"),
                      "DEMO_ENSEMBLE_FILE": str(REPO / "results" / "demo-ensemble" / "test.json"),
                      "OTHER_COLOUR_FILE": str(REPO / "results" / "other-colour-changes" / "other_colour_changes.json"),
                      "RESOLUTIONS": [32, 64], "AB_PAIRS": 3},
}


def common_parameters() -> dict:
    from tests.conftest import build_ci_mini

    return {"DATA_ROOT": str(build_ci_mini()), "FIGURES": str(FIGURES)}


def write_copies(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    common = common_parameters()
    written = []
    for path in NOTEBOOKS:
        copy = parameterize(load(path), {**common, **CI_PARAMETERS[path.stem]})
        dump(copy, out / path.name)
        written.append(out / path.name)
    return written


if __name__ == "__main__":
    for path in write_copies(Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "build" / "ci-notebooks")):
        print(f"wrote {path}")
