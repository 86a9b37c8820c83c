"""The committed notebooks: a parameters cell first, CI parameters for each, executed outputs with
no error and no warning, the sections a learner relies on. (Each notebook is executed once, with
small parameters, by ``make test``'s nbval step on the copies of tests/ci_notebooks.py.)"""

from __future__ import annotations

import json
import re

import pytest

from tests.ci_notebooks import CI_PARAMETERS, NOTEBOOKS


def _cells(notebook):
    return json.loads(notebook.read_text())["cells"]


def test_every_notebook_has_ci_parameters_and_a_parameters_cell_first():
    assert [nb.stem for nb in NOTEBOOKS] == sorted(CI_PARAMETERS)
    for notebook in NOTEBOOKS:
        first_code = next(c for c in _cells(notebook) if c["cell_type"] == "code")
        assert "parameters" in first_code["metadata"].get("tags", []), notebook.name
        source = "".join(first_code["source"])
        for name in CI_PARAMETERS[notebook.stem]:
            assert re.search(rf"^{name}\s*=", source, re.M), f"{notebook.name}: CI sets {name}, the notebook does not"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_holds_the_outputs_of_a_run_without_errors_or_warnings(notebook):
    cells = _cells(notebook)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{notebook.name}: a code cell was not executed"
    for cell in code:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{notebook.name}: error output"
            if output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"])
                assert "Warning" not in text and "Traceback" not in text, f"{notebook.name}: {text[:300]}"
    assert any(o.get("data", {}).get("image/png") for c in code for o in c.get("outputs", [])), notebook.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_notebook_teaches_with_the_same_scaffolding(notebook):
    markdown = "\n".join("".join(c["source"]) for c in _cells(notebook) if c["cell_type"] == "markdown")
    for heading in ("## Summary", "## Exercises", "## References"):
        assert heading in markdown, f"{notebook.name}: no '{heading}'"
    for phrase in ("What you will learn", "Prerequisites", "Time"):
        assert phrase in markdown, f"{notebook.name}: no '{phrase}'"
    assert markdown.count("<details>") >= 2, f"{notebook.name}: fewer than two check-your-understanding answers"
