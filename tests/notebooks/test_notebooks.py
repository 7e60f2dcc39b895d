"""The walkthrough notebooks: committed without outputs, and each runs top to bottom (fast settings)."""

import base64
import re
from pathlib import Path

import nbformat
import pytest

from testing_support import REPO_ROOT

# End-to-end with worker processes or kernels: `make test` leaves them to `make test-all` (CI).
pytestmark = pytest.mark.slow

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")  # kaleido renders the static images with it
NOTEBOOKS = ["01_quickstart.ipynb", "02_plug_into_your_backbone.ipynb", "03_disentanglement_analysis.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip outputs before committing"


def test_every_notebook_in_the_folder_is_tested():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    # The kernel inherits this environment: fast settings; temporary folders under tmp_path;
    # one thread, because on a busy 2-core machine a second thread slowed these tiny fits 4-10x.
    monkeypatch.setenv("MRDIB_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    # The notebook kept its runs in a temporary folder under tmp_path and removed it at the end.
    assert not list(tmp_path.glob("mrdib-notebook-*")), "the notebook left its temporary artifacts folder"
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    texts = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    [report] = re.findall(r"removed \S*mrdib-notebook-\S+: (\d+) runs, (\d+) analyses", texts)
    assert int(report[0]) >= (1 if name.startswith("02") else 2)
    if name.startswith("03"):
        assert int(report[1]) == 2
    # Every plotly figure also carries a static picture (a PNG, or without Chromium a note that says why),
    # so GitHub and nbviewer do not show an empty box.
    figures = [output.data for output in outputs if "application/vnd.plotly.v1+json" in output.get("data", {})]
    if not name.startswith("02"):
        assert figures
    for data in figures:
        assert "image/png" in data or "no static image" in data.get("text/plain", "")
        if CHROMIUM.exists():
            assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
