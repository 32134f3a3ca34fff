"""
What a user sees around the commands: `allennlp predict --silent` is silent, and the environment
that `make install` builds (`requirements/allennlp_ain_env.pth`) sets sleeping OpenMP threads and
hides torchvision's start-up warning.
"""
import logging
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import allennlp_ain
from tests.helpers import FIXTURES, ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
PTH = Path(sysconfig.get_paths()["purelib"]) / "allennlp_ain_env.pth"
needs_make_install = pytest.mark.skipif(not PTH.is_file(), reason=f"{PTH} absent: not installed by `make install`")


@pytest.mark.parametrize(
    "argv, silenced",
    [
        (["/venv/bin/allennlp", "predict", "model.tar.gz", "in.jsonl", "--silent"], True),
        (["/venv/lib/python3.11/site-packages/allennlp/__main__.py", "predict", "m", "i", "--silent"], True),
        (["/venv/bin/allennlp", "predict", "model.tar.gz", "in.jsonl"], False),
        (["/venv/bin/allennlp", "evaluate", "model.tar.gz", "in.jsonl", "--silent"], False),
        (["/venv/bin/pytest", "predict", "--silent"], False),
    ],
)
def test_only_allennlp_predict_silent_raises_the_log_level(monkeypatch, argv, silenced):
    root = logging.getLogger()
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(root, "level", logging.INFO)
    allennlp_ain._silence_predict()
    assert root.level == (logging.WARNING if silenced else logging.INFO)


def test_predict_silent_prints_nothing_but_writes_the_predictions(tmp_path):
    sentences = tmp_path / "in.jsonl"
    sentences.write_text('{"sentence": "The quick brown fox"}\n')
    env = {key: value for key, value in os.environ.items() if key not in ("ALLENNLP_LOG_LEVEL", "PYTHONWARNINGS")}
    result = subprocess.run(
        [ALLENNLP, "predict", str(FIXTURES / "archives" / "mfvi2_pos.tar.gz"), str(sentences), "--silent",
         "--output-file", str(tmp_path / "out.jsonl"), "--include-package", "allennlp_ain"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert " INFO " not in result.stderr, result.stderr[:2000]
    assert '"tokens": ["The", "quick", "brown", "fox"]' in (tmp_path / "out.jsonl").read_text()


@needs_make_install
def test_the_environment_sets_passive_openmp_threads_and_hides_the_torchvision_warning():
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "PYTHONWARNINGS")}
    code = "import os, allennlp.data; print(os.environ['OMP_WAIT_POLICY'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "PASSIVE"
    assert "Failed to load image" not in result.stderr
    # a user's own setting wins
    result = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "ACTIVE"
