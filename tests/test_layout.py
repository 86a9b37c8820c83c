"""The package's layers (hcl.layout): imports point down, and the rules the layers are for hold."""

from __future__ import annotations

import ast

from hcl.layout import PACKAGE, import_graph, layers, reachable


def test_the_imports_form_layers_without_a_cycle():
    graph = import_graph()
    level = layers(graph)  # raises on a cycle
    assert all(level[m] < level[name] for name, targets in graph.items() for m in targets)
    assert graph["hcl.config"] <= {"hcl.errors"}  # the one source of defaults depends on nothing else


def test_the_model_does_not_depend_on_the_data_package_and_training_not_on_inference():
    graph = import_graph()
    for module in ("hcl.model", "hcl.losses", "hcl.checkpoint"):
        assert not {m for m in reachable(graph, module) if m.startswith("hcl.data")}, module
    assert "hcl.inference" not in reachable(graph, "hcl.train")
    assert "hcl.train" not in reachable(graph, "hcl.inference")


def test_the_plotting_module_reads_no_files_and_changes_no_object_it_is_given():
    tree = ast.parse((PACKAGE / "viz.py").read_text())
    calls = {getattr(node.func, "attr", getattr(node.func, "id", None)) for node in ast.walk(tree)
             if isinstance(node, ast.Call)}
    assert not calls & {"open", "read_text", "read_bytes", "DictReader", "load", "loads", "savefig"}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert not imported & {"csv", "json", "pathlib", "Path"}


def test_patch_explorer_leaves_the_loss_it_is_handed_unchanged():
    import torch

    from hcl import viz
    from hcl.contrastive import HCLLoss

    torch.manual_seed(0)
    image, mask = torch.rand(3, 32, 32), torch.zeros(1, 32, 32)
    mask[:, 8:24, 8:24] = 1
    loss = HCLLoss(k=32, tau=0.2, factor=4, reading="spread")
    viz.patch_explorer(image, image, mask, k=4, tau=0.5, factor=8, loss=loss)
    assert (loss.k, loss.tau, loss.factor) == (32, 0.2, 4)
