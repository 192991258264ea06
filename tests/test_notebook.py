"""examples/walkthrough.ipynb runs from top to bottom in a real Jupyter kernel, and is stored without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import REPO

NOTEBOOK = REPO / "examples" / "walkthrough.ipynb"


def read_notebook():  # type: ignore[no-untyped-def]
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)


def test_stored_notebook_has_no_outputs():
    notebook = read_notebook()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def test_notebook_has_a_papermill_parameters_cell():
    notebook = read_notebook()
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "quick = None" in tagged[0].source


def test_notebook_runs_without_an_error_in_a_real_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Quick mode (a few hundred digits, 1-2 epochs); any cell that raises fails the test."""
    from nbclient import NotebookClient

    monkeypatch.setenv("AEZOO_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel is a new process: this checkout's aezoo first on its path, as for the test itself.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    notebook = read_notebook()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when one fails

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) >= 8  # data, per-epoch reconstructions, samples, t-SNE maps, interpolations, served PNG
    text = "".join(output.get("text", "") for output in outputs)
    assert "quick=True" in text and "largest difference from the Keras model" in text
    markdown = [output for output in outputs if "text/markdown" in output.get("data", {})]
    comparison = [text for text in (output["data"]["text/markdown"] for output in markdown) if "| k-NN accuracy" in text]
    assert len(comparison) == 1 and "from the noisy input's" in comparison[0]
