"""`allennlp ain-export` (found through `.allennlp_plugins` from the repository root) and `python -m allennlp_ain.export`."""
import json
import runpy
import sys

import pytest
from allennlp.commands import main

from allennlp_ain_onnx import ExportedTagger
from tests.export.archives import build_archive
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archives")
    return {decoder: build_archive(folder / decoder, "word", decoder) for decoder in ("maxent", "crf")}


def test_the_subcommand_is_found_from_the_repository_root_and_exports(archives, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # where `.allennlp_plugins` names the plugin
    monkeypatch.setattr(sys, "argv", ["allennlp", "ain-export", str(archives["maxent"]), str(tmp_path / "out"), "--quantize"])
    main(prog="allennlp")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"model.onnx", "model.int8.onnx", "tagger.json"}
    description = json.loads((tmp_path / "out" / "tagger.json").read_text())
    assert description["decoder"]["type"] == "maxent" and description["labels"][0] == "O"
    assert "ain-export: the ONNX graph agrees" in capsys.readouterr().err
    assert ExportedTagger(tmp_path / "out", quantized=True).tag(["Maria", "flew"])["tokens"] == ["Maria", "flew"]


def test_python_dash_m_refuses_the_crf_naming_the_supported_decoders(archives, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m allennlp_ain.export", str(archives["crf"]), str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("allennlp_ain.export", run_name="__main__")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "cannot export" in error and "'crf' decoder cannot be exported" in error and "'maxent', 'mfvi'" in error
    assert not (tmp_path / "out").exists()


def test_a_missing_archive_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "missing.tar.gz"), str(tmp_path / "out")])
    with pytest.raises(SystemExit):
        runpy.run_module("allennlp_ain.export", run_name="__main__")
    assert "not found" in capsys.readouterr().err
