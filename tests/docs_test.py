"""Runs the examples of docs/usage.md against the session's tiny NER archive."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

USAGE = ROOT / "docs" / "usage.md"
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(language: str):
    return [code for lang, code in BLOCK.findall(USAGE.read_text(encoding="utf-8")) if lang == language]


@pytest.fixture
def workdir(trained_archive, tmp_path, monkeypatch) -> Path:
    """A folder holding the archive as `model.tar.gz`, the name the examples use."""
    (tmp_path / "model.tar.gz").symlink_to(trained_archive)
    monkeypatch.chdir(tmp_path)
    return tmp_path


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
