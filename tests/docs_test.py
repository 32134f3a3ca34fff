"""
Runs the examples of docs/usage.md against the session's tiny NER archive and against the same
archive without its `label_encoding`: a model with plain tags and no spans, as the UD POS model
that `make main` trains.
"""
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

USAGE = ROOT / "docs" / "usage.md"
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(language: str):
    return [code for lang, code in BLOCK.findall(USAGE.read_text(encoding="utf-8")) if lang == language]


@pytest.fixture(scope="module")
def plain_tags_archive(trained_archive, tmp_path_factory) -> Path:
    """The NER archive with `label_encoding` (and so `constrain_decoding`) taken out of its config."""
    folder = tmp_path_factory.mktemp("plain_tags")
    with tarfile.open(trained_archive) as archive:
        archive.extractall(folder / "files", filter="data")
    config_file = folder / "files" / "config.json"
    config = json.loads(config_file.read_text())
    del config["model"]["label_encoding"], config["model"]["constrain_decoding"]
    config_file.write_text(json.dumps(config))
    with tarfile.open(folder / "model.tar.gz", "w:gz") as archive:
        for path in sorted((folder / "files").iterdir()):
            archive.add(path, arcname=path.name)
    return folder / "model.tar.gz"


@pytest.fixture(params=["ner", "plain_tags"])
def workdir(request, tmp_path, monkeypatch) -> Path:
    """A folder holding an archive as `model.tar.gz`, the name the examples use."""
    archive = request.getfixturevalue("trained_archive" if request.param == "ner" else "plain_tags_archive")
    (tmp_path / "model.tar.gz").symlink_to(archive)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_plain_tags_archive_tags_without_spans(plain_tags_archive):
    from allennlp.predictors import Predictor

    result = Predictor.from_path(str(plain_tags_archive)).predict_json({"sentence": "Maria Lopez flew to Berlin."})
    assert "spans" not in result and len(result["tags"]) == len(result["tokens"]) == 6


def test_usage_has_examples():
    assert len(code_blocks("python")) >= 2 and len(code_blocks("bash")) >= 1


@pytest.mark.parametrize("index", range(len(code_blocks("python"))))
def test_python_example_runs(workdir, index):
    exec(compile(code_blocks("python")[index], f"{USAGE}:python-{index}", "exec"), {"__name__": "__usage__"})


@pytest.mark.parametrize("index", range(len(code_blocks("bash"))))
def test_bash_example_runs(workdir, index):
    env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code_blocks("bash")[index]],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"tags"' in result.stdout
