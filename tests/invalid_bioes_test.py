"""
`benchmarks/invalid_bioes.py --archive`: a trained archive's three decodings on a file. An
untrained AIN-1O tagger (random decoder weights) breaks BIOES under the plain argmax; both valid
decodings never do, and every row counts every sentence of the file.
"""
import importlib.util
import json

import torch
from allennlp.models.archival import archive_model

from tests.helpers import FIXTURES, ROOT


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


invalid_bioes = load("invalid_bioes")
serving_speed = load("serving_speed")
CONLL03 = FIXTURES / "conll" / "conll2003_sample.txt"


def test_an_archive_is_decoded_three_ways(tmp_path):
    reader = serving_speed.DatasetReader.from_params(serving_speed.config("mfvi1").pop("dataset_reader"))
    sentences = [list(instance["metadata"]["words"]) for instance in reader.read(str(CONLL03))]
    _, (model, _) = serving_speed.untrained_models(300, 8, sentences, seed=3)
    run = tmp_path / "run"
    run.mkdir()
    serving_speed.config("mfvi1", 8).to_file(str(run / "config.json"))
    model.vocab.save_to_files(str(run / "vocabulary"))
    torch.save(model.state_dict(), run / "best.th")
    (run / "meta.json").write_text(json.dumps({"version": "2.10.1"}))
    archive_model(str(run), weights="best.th")

    invalid_bioes.decode_archive(str(run / "model.tar.gz"), [str(CONLL03)], str(tmp_path / "out"))
    table = (tmp_path / "out" / "invalid_bioes_archive.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| conll2003_sample.txt |")]
    assert [row[1] for row in rows] == list(invalid_bioes.ARCHIVE_DECODINGS)
    invalid = [int(row[2].split(" / ")[0]) for row in rows]
    assert invalid[0] > 0 and invalid[1:] == [0, 0], table
    assert all(row[2].split(" / ")[1].startswith(str(len(sentences))) for row in rows)
