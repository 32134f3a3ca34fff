"""
Every shipped multi-task config (`training_configs/multitask/`) is built and trained for one epoch
against the fixtures through AllenNLP's `train_model`, for every multi-task encoder and for a
single-task selection, with small layers; the archive then predicts every task.
"""
import json

import pytest
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

import allennlp_ain  # noqa: F401  (registers the components)
from tests.helpers import CONFIGS, FIXTURES

MULTITASK = CONFIGS / "multitask"
GLOVE = FIXTURES / "embeddings" / "glove_sample.txt"
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
]


def test_every_multitask_config_has_fixture_data_and_a_cell():
    assert sorted(path.name for path in MULTITASK.glob("*.jsonnet")) == sorted(DATA) == sorted({c[0] for c in CELLS})


def _params(config: str, tasks: str, encoder: str, decoder: str) -> Params:
    ext_vars = {key: str(path) for key, path in DATA[config].items()}
    ext_vars.update(TASKS=tasks, ENCODER=encoder, DECODER=decoder, GLOVE=str(GLOVE), CUDA_DEVICE="-1")
    overrides = dict(SMALL)
    if "chunk" not in tasks.split(","):
        overrides = {k: v for k, v in overrides.items() if ".chunk." not in k}
    if encoder == "lstm_s":
        overrides["model.encoder.encoder.hidden_size"] = overrides.pop("model.encoder.hidden_size")
    return Params.from_file(str(MULTITASK / config), params_overrides=json.dumps(overrides), ext_vars=ext_vars)


@pytest.mark.parametrize("config, tasks, encoder, decoder", CELLS)
def test_multitask_config_trains_and_predicts_every_task(config, tasks, encoder, decoder, tmp_path):
    params = _params(config, tasks, encoder, decoder)
    assert params["trainer"]["validation_metric"] == [
        {"pos": "+pos_accuracy", "chunk": "+chunk_f1-measure-overall", "ner": "+ner_f1-measure-overall"}[t]
        for t in tasks.split(",")
    ]
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
