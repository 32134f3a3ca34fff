"""The Python examples of docs/usage.md's section on the exported tagger run (they use `py` fences, which tests/docs_test.py leaves to this file)."""
import re

import pytest

from allennlp_ain.export import export_archive
from tests.export.archives import build_archive
from tests.helpers import ROOT

USAGE = ROOT / "docs" / "usage.md"
SECTION = USAGE.read_text(encoding="utf-8").split("## Serving with the exported tagger (ONNX)")[1].split("\n## ")[0]
BLOCKS = re.findall(r"^```py\n(.*?)^```", SECTION, re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with `model.tar.gz` (a BiLSTM + AIN-F2O NER tagger) and its export, `exported/`."""
    folder = tmp_path_factory.mktemp("usage")
    archive = build_archive(folder / "run", "bilstm", "mfvi2")
    (folder / "model.tar.gz").symlink_to(archive)
    export_archive(archive, folder / "exported", progress=lambda line: None)
    return folder


def test_the_section_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_example_runs(workdir, monkeypatch, index):
    monkeypatch.chdir(workdir)
    exec(compile(BLOCKS[index], f"{USAGE}:exported-py-{index}", "exec"), {"__name__": "__usage__"})
