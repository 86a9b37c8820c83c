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


def _notebook(markdown: str, code: str = "", printed: str = "") -> dict:
    return {"cells": [
        {"cell_type": "code", "source": code, "metadata": {},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": printed}]},
        {"cell_type": "markdown", "source": markdown, "metadata": {}},
    ]}


def test_the_claims_tool_flags_a_number_that_no_output_shows_and_accepts_one_that_an_output_rounds_to():
    from hcl.notebook_tools import unsupported_claims

    printed = "fMSE 1465.56, PSNR 26.05\n"
    assert unsupported_claims(_notebook("the demo scores fMSE 1465.6 and PSNR 26.1", printed=printed)) == []
    flagged = unsupported_claims(_notebook("the demo scores fMSE 1465.7 and PSNR 26.05", printed=printed))
    assert [claim for _, claim, _ in flagged] == ["1465.7"]
    flagged = unsupported_claims(_notebook("fMSE falls 80 % in the paper", printed=printed))
    assert [(cell, claim) for cell, claim, _ in flagged] == [(1, "80")]
    # a setting written in a code cell is shown; so is a number declared as not measured here
    assert unsupported_claims(_notebook("trained for 500 steps", code="STEPS = 500")) == []
    assert unsupported_claims(_notebook("<!-- not measured here: 1376 279 -->the paper: 1376 → 279")) == []


def test_the_claims_tool_skips_references_math_code_years_and_small_counts():
    from hcl.notebook_tools import unsupported_claims

    markdown = ("Eqs. (10)–(11), Table VI, Fig. 2, notebooks 02 and 04, section 7; $\\tau = 0.07$, `--k 256`, "
                "[a link](https://example.org/42), Huang & Belongie 2017, three 3×3 kernels")
    assert unsupported_claims(_notebook(markdown)) == []
    assert [c for _, c, _ in unsupported_claims(_notebook(markdown + ", and 0.07 outside math"))] == ["0.07"]


def test_every_number_in_the_committed_notebooks_markdown_is_shown_by_an_output():
    from hcl.notebook_tools import unsupported_claims

    unshown = [f"{nb.name} cell {cell}: {claim} (…{context}…)" for nb in NOTEBOOKS
               for cell, claim, context in unsupported_claims(json.loads(nb.read_text()))]
    assert not unshown, "\n".join(unshown)
