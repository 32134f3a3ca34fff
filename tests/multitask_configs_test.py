"""
Every shipped multi-task config (`training_configs/multitask/`) is built and trained for one epoch
against the fixtures through AllenNLP's `train_model`, for every multi-task encoder and for a
single-task selection, with small layers; the archive then predicts every task.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

import allennlp_ain  # noqa: F401  (registers the components)
from tests.helpers import (
    CONFIGS, FIXTURES, GLOVE, MULTILINGUAL, MULTILINGUAL_DATA, MULTILINGUAL_SMALL, ROOT, multilingual_ext_vars,
    multilingual_params,
)

MULTITASK = CONFIGS / "multitask"
DATA = {
    "sclstm_pos_chunk_ner.jsonnet": {
        "POS_TRAIN": FIXTURES / "ud" / "en_ewt_sample.conllu",
        "POS_DEV": FIXTURES / "ud" / "en_ewt_sample.conllu",
        "POS_TEST": FIXTURES / "ud" / "en_ewt_sample.conllu",
        "CHUNK_TRAIN": FIXTURES / "conll" / "conll2000_sample.txt",
        "CHUNK_TEST": FIXTURES / "conll" / "conll2000_unseen_label.txt",
        "NER_TRAIN": FIXTURES / "conll" / "conll2003_sample.txt",
        "NER_DEV": FIXTURES / "conll" / "conll2003_sample.txt",
        "NER_TEST": FIXTURES / "conll" / "conll2003_sample.txt",
    }
}
# The fixture holds a few sentences, not the paper's 1,000 for the chunking dev set.
SMALL = {
    "model.encoder.hidden_size": 6,
    "dataset_reader.readers.chunk.hold_out": 2,
    "validation_dataset_reader.readers.chunk.hold_out": 2,
    "trainer.num_epochs": 1,
}
CELLS = [
    ("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "sc_lstm", "maxent"),
    ("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "lstm_s", "crf"),
    ("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "lstm_d", "mfvi1"),
    ("sclstm_pos_chunk_ner.jsonnet", "ner", "lstm_s", "maxent"),  # the single-task baseline
    ("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "sc_lstm_cnn", "crf"),  # SC-LSTM-CNN-CRF
]


def test_every_multitask_config_has_fixture_data_and_a_cell():
    assert sorted(path.name for path in MULTITASK.glob("*.jsonnet")) == sorted(DATA) == sorted({c[0] for c in CELLS})


def _params(config: str, tasks: str, encoder: str, decoder: str) -> Params:
    ext_vars = {key: str(path) for key, path in DATA[config].items()}
    ext_vars.update(TASKS=tasks, ENCODER=encoder, DECODER=decoder, GLOVE=str(GLOVE), CUDA_DEVICE="-1")
    overrides = dict(SMALL)
    if "chunk" not in tasks.split(","):
        overrides = {k: v for k, v in overrides.items() if ".chunk." not in k}
    if encoder.startswith("lstm_s"):
        overrides["model.encoder.encoder.hidden_size"] = overrides.pop("model.encoder.hidden_size")
    return Params.from_file(str(MULTITASK / config), params_overrides=json.dumps(overrides), ext_vars=ext_vars)


@pytest.mark.parametrize("config, tasks, encoder, decoder", CELLS)
def test_multitask_config_trains_and_predicts_every_task(config, tasks, encoder, decoder, tmp_path):
    params = _params(config, tasks, encoder, decoder)
    assert params["trainer"]["validation_metric"] == [
        {"pos": "+pos_accuracy", "chunk": "+chunk_f1-measure-overall", "ner": "+ner_f1-measure-overall"}[t]
        for t in tasks.split(",")
    ]
    embedders = params["model"]["text_field_embedder"]["token_embedders"]
    assert ("token_characters" in embedders) == encoder.endswith("_cnn")
    train_model(params, str(tmp_path))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for task in tasks.split(","):
        assert f"test_{task}_accuracy" in metrics
    predictor = Predictor.from_archive(load_archive(str(tmp_path / "model.tar.gz")))
    result = predictor.predict_json({"sentence": "Peter Blackburn visited Brussels ."})
    names = tasks.split(",")
    if len(names) > 1:
        assert set(result) == {"tokens", *names}
        assert all(len(result[task]["tags"]) == 5 for task in names)
    else:
        assert len(result["tags"]) == 5 and "spans" in result


def test_the_paper_settings_and_the_ner_weight():
    params = _params("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "sc_lstm", "maxent").as_dict()
    assert params["model"]["loss_weights"] == {"ner": 3}
    assert params["model"]["encoder"]["num_layers"] == 3
    assert params["data_loader"]["scheduler"] == {"type": "ain_random_interleave", "batch_size": 10, "sorting_key": "tokens"}
    assert params["validation_data_loader"] == {"type": "multitask", "scheduler": params["data_loader"]["scheduler"], "shuffle": False}
    assert params["trainer"]["callbacks"] == [{"type": "ain_rng_state"}]
    assert params["dataset_reader"]["readers"]["chunk"]["label_namespace"] == "chunk_labels"
    assert params["validation_dataset_reader"]["readers"]["chunk"]["read_held_out"] is True
    assert params["trainer"]["grad_norm"] == 5.0 and params["trainer"]["optimizer"]["type"] == "adam"


# The multilingual configs (`training_configs/multilingual/`, Lin et al. 2018): every config with
# every ablation, and every multi-task encoder on one of them, trained for an epoch on fixtures.
# the datasets each ablation trains, by config
ABLATIONS = {
    "dutch_ner.jsonnet": {
        "single": ["nl_ner"], "cross_lingual": ["en_ner", "nl_ner"], "cross_task": ["nl_ner", "nl_pos"],
        "all": ["en_ner", "en_pos", "nl_ner", "nl_pos"],
    },
    "spanish_ner.jsonnet": {
        "single": ["es_ner"], "cross_lingual": ["en_ner", "es_ner"], "cross_task": ["es_ner", "es_pos"],
        "all": ["en_ner", "es_ner", "es_pos"],
    },
}
MULTILINGUAL_CELLS = [(config, ablation, "lstm_s", "crf") for config in sorted(ABLATIONS) for ablation in ABLATIONS[config]]
MULTILINGUAL_CELLS += [("dutch_ner.jsonnet", "all", "sc_lstm", "maxent"), ("dutch_ner.jsonnet", "all", "lstm_d", "mfvi1")]


def test_every_multilingual_config_has_fixture_data_and_cells():
    assert sorted(path.name for path in MULTILINGUAL.glob("*.jsonnet")) == sorted(MULTILINGUAL_DATA) == sorted(ABLATIONS)
    assert {cell[0] for cell in MULTILINGUAL_CELLS} == set(MULTILINGUAL_DATA)


@pytest.mark.parametrize("config, ablation, encoder, decoder", MULTILINGUAL_CELLS)
def test_multilingual_config_trains_on_the_ablations_datasets(config, ablation, encoder, decoder, tmp_path):
    params = multilingual_params(config, ablation, encoder, decoder)
    datasets = ABLATIONS[config][ablation]
    target = datasets[0] if len(datasets) == 1 else next(d for d in datasets if d.endswith("_ner") and not d.startswith("en"))
    assert sorted(params["train_data_path"].as_dict()) == datasets
    assert list(params["validation_data_path"].as_dict()) == [target] == list(params["test_data_path"].as_dict())
    assert params["trainer"]["validation_metric"] == "+ner_f1-measure-overall"
    model = train_model(params, str(tmp_path))
    tasks = sorted({d.split("_")[1] for d in datasets})
    assert sorted(model.heads) == tasks
    for task in tasks:
        assert model.heads[task].languages == sorted(d.split("_")[0] for d in datasets if d.endswith(task))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "test_ner_f1-measure-overall" in metrics and "best_validation_ner_f1-measure-overall" in metrics


def test_the_target_sample_applies_to_its_training_file_only():
    params = multilingual_params("spanish_ner.jsonnet", "all", "lstm_s", "crf", sample="2").as_dict()
    readers = params["dataset_reader"]["readers"]
    assert (readers["es_ner"]["sample"], readers["es_ner"]["seed"]) == (2, 1) and params["random_seed"] == 1
    assert "sample" not in readers["en_ner"] and "sample" not in readers["es_pos"]
    assert "sample" not in params["validation_dataset_reader"]["readers"]["es_ner"]
    assert readers["es_pos"]["label_column"] == 1 and readers["es_pos"]["label_namespace"] == "pos_labels"
    assert params["model"]["heads"]["pos"]["label_encoding"] is None
    assert params["data_loader"]["scheduler"]["target"] == "es_ner"
    fraction = multilingual_params("spanish_ner.jsonnet", "all", "lstm_s", "crf", sample="0.5").as_dict()
    assert fraction["dataset_reader"]["readers"]["es_ner"]["sample"] == 0.5


def test_an_unknown_ablation_is_an_error():
    with pytest.raises(RuntimeError, match="unknown ablation"):
        Params.from_file(str(MULTILINGUAL / "dutch_ner.jsonnet"), ext_vars=multilingual_ext_vars("dutch_ner.jsonnet", "some"))


ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def test_a_multilingual_model_trains_saves_loads_and_predicts_through_the_command_line(tmp_path):
    """Two languages, two tasks (Dutch and English NER and POS): `allennlp train`, then `allennlp
    predict` on Dutch text (the target's language, the default) and on English lines (`"language"`),
    in one batch, whose tags are the model's on each language's words with its gates."""
    env = {**os.environ, **multilingual_ext_vars("dutch_ner.jsonnet")}
    overrides = json.dumps({**MULTILINGUAL_SMALL, "model.encoder.encoder.hidden_size": 4})
    run = tmp_path / "run"
    train = [ALLENNLP, "train", str(MULTILINGUAL / "dutch_ner.jsonnet"), "-s", str(run), "-o", overrides]
    result = subprocess.run(train, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [{"tokens": ["Anneke", "fietst", "naar", "Gouda", "."]}, {"sentence": "Het museum in Utrecht opent morgen."},
             {"tokens": ["Maria", "visited", "Oslo", "."], "language": "en"},
             {"sentence": "Peter flew to Berlin.", "language": "en"}, {"tokens": ["Jan", "woont", "in", "Delft"], "language": "nl"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    predict = [ALLENNLP, "predict", str(run / "model.tar.gz"), str(tmp_path / "in.jsonl"), "--output-file",
               str(tmp_path / "out.jsonl"), "--include-package", "allennlp_ain", "--silent"]
    result = subprocess.run(predict, cwd=tmp_path, env=os.environ, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]

    archive = load_archive(str(run / "model.tar.gz"))
    model = archive.model.eval()
    assert model.languages == ["en", "nl"]
    readers = {"nl": archive.validation_dataset_reader.readers["nl_ner"].inner,  # the target's, the predictor's
               "en": archive.dataset_reader.readers["en_ner"].inner}  # as training read English
    assert len(outputs) == len(lines)
    for line, output in zip(lines, outputs):
        assert set(output) == {"tokens", "ner", "pos"} and "spans" in output["ner"]
        language = line.get("language", "nl")
        instance = readers[language].text_to_instance(output["tokens"])
        readers[language].apply_token_indexers(instance)
        assert set(instance["tokens"]._token_indexers) == {f"tokens_{language}", "token_characters"}
        direct = model.forward_on_instance(instance)  # readable: label strings
        assert output["ner"]["tags"] == direct["ner_tags"] and output["pos"]["tags"] == direct["pos_tags"]
        for task in ("ner", "pos"):
            assert output[task]["confidence"] == pytest.approx(direct[f"{task}_confidence"], abs=1e-5)


def test_a_lines_language_picks_its_words_and_gates(multilingual_archive):
    """A line's `"language"` gives the model's output on an instance of that language's training
    reader (its words under `tokens_en`, `metadata["language"] == "en"`); another language gives
    another output."""
    archive = load_archive(str(multilingual_archive))
    english = archive.dataset_reader.readers["en_ner"].inner
    tokens = ["Maria", "visited", "Oslo", "."]
    instance = english.text_to_instance(tokens)
    english.apply_token_indexers(instance)
    direct = archive.model.eval().forward_on_instance(instance)
    predictor = Predictor.from_archive(archive)
    output = predictor.predict_json({"tokens": tokens, "language": "en", "marginals": True})
    for task in ("ner", "pos"):
        assert output[task]["confidence"] == pytest.approx(direct[f"{task}_confidence"], abs=1e-5)
        assert len(output[task]["marginals"]) == len(tokens)
    dutch = predictor.predict_json({"tokens": tokens, "language": "nl"})
    assert dutch["ner"]["confidence"] != pytest.approx(output["ner"]["confidence"], abs=1e-5)
