"""
Every shipped training config, for every encoder x decoder, is built and trained for one epoch
against the fixtures (with smaller hidden layers, for speed), through AllenNLP's `train_model`.
"""
import json
import sys
from pathlib import Path

import pytest
import torch
from allennlp.commands import main
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.modules.text_field_embedders import TextFieldEmbedder

import allennlp_ain  # noqa: F401  (registers the components)
from allennlp_ain.modules.token_embedders import CharacterEncoding

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "training_configs"
FIXTURES = ROOT / "fixtures"
GLOVE = FIXTURES / "embeddings" / "glove_sample.txt"

# The fixture files each config trains on: (train, dev, test). Every config needs an entry.
CONLL03 = FIXTURES / "conll" / "conll2003_sample.txt"
DATA = {
    "atis.jsonnet": (FIXTURES / "atis" / "atis_sample.txt", FIXTURES / "atis" / "atis_sample.txt", FIXTURES / "atis" / "atis_unseen_label.txt"),
    "conll00_chunk.jsonnet": (FIXTURES / "conll" / "conll2000_sample.txt",) * 2 + (FIXTURES / "conll" / "conll2000_unseen_label.txt",),
    "conll02_ner.jsonnet": (FIXTURES / "conll" / "conll2002_ned_sample.txt",) * 3,
    "conll03_chunk.jsonnet": (CONLL03,) * 3,
    "conll03_ner.jsonnet": (CONLL03,) * 3,
    "ud_pos.jsonnet": (FIXTURES / "ud" / "en_ewt_sample.conllu",) * 3,
}
ENCODERS = ("bilstm", "cnn", "word")
DECODERS = ("maxent", "crf", "mfvi1", "mfvi2")
# Smaller layers than the paper's, so the whole grid trains in seconds.
SMALL = {"bilstm": {"model.encoder.hidden_size": 8}, "cnn": {"model.encoder.hidden_dim": 8}, "word": {}}


def _ext_vars(config: str, encoder: str, decoder: str, glove: str = str(GLOVE)) -> dict:
    train, dev, test = DATA[config]
    return {
        "TRAIN_DATA": str(train),
        "DEV_DATA": str(dev),
        "TEST_DATA": str(test),
        "ENCODER": encoder,
        "DECODER": decoder,
        "GLOVE": glove,
        "CUDA_DEVICE": "-1",
    }


def test_every_config_has_fixture_data():
    assert sorted(path.name for path in CONFIGS.glob("*.jsonnet")) == sorted(DATA)


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("config", sorted(DATA))
def test_config_trains(config, encoder, decoder, tmp_path):
    overrides = {"trainer.num_epochs": 1, **SMALL[encoder]}
    params = Params.from_file(
        str(CONFIGS / config), params_overrides=json.dumps(overrides), ext_vars=_ext_vars(config, encoder, decoder)
    )
    assert params["trainer"]["optimizer"] == {"type": "sgd", "lr": 0.1}
    assert params["data_loader"]["batch_sampler"] == {"type": "bucket", "batch_size": 32}
    model = train_model(params, str(tmp_path / "run"))
    assert model.vocab.get_vocab_size("labels") > 1
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "test_accuracy" in metrics
    if config != "ud_pos.jsonnet":
        assert "test_f1-measure-overall" in metrics


def test_unseen_labels_do_not_crash_allennlp_evaluate(tmp_path, monkeypatch):
    """A test file with slot labels the training data lacks (a new type, a new BIOES prefix)
    is evaluated; those labels are read as `@@UNKNOWN@@` and count as missed gold spans."""
    config = "atis.jsonnet"
    params = Params.from_file(
        str(CONFIGS / config),
        params_overrides=json.dumps({"trainer.num_epochs": 1, "evaluate_on_test": False}),
        ext_vars=_ext_vars(config, "word", "crf", glove=""),
    )
    model = train_model(params, str(tmp_path / "run"))
    labels = model.vocab.get_token_to_index_vocabulary("labels")
    assert "@@UNKNOWN@@" in labels and "B-flight_number" not in labels and "B-class_type" not in labels
    output = tmp_path / "metrics.json"
    argv = ["allennlp", "evaluate", str(tmp_path / "run" / "model.tar.gz"), str(DATA[config][2])]
    monkeypatch.setattr(sys, "argv", argv + ["--output-file", str(output), "--include-package", "allennlp_ain"])
    main(prog="allennlp")
    metrics = json.loads(output.read_text())
    assert 0.0 <= metrics["f1-measure-overall"] <= 1.0
    assert metrics["recall-@@UNKNOWN@@"] == 0.0  # the span of the unseen type is counted, and missed


@pytest.mark.parametrize("config", ["conll03_ner.jsonnet", "conll02_ner.jsonnet"])
def test_ner_configs_keep_case_exactly_without_a_character_cnn(config):
    def indexer(encoder):
        params = Params.from_file(str(CONFIGS / config), ext_vars=_ext_vars(config, encoder, "crf"))
        return params["dataset_reader"]["token_indexers"]["tokens"]["type"]

    assert [indexer(e) for e in ENCODERS] == ["single_id", "ain_cased_single_id", "ain_cased_single_id"]


def test_cased_word_lookup_trains_saves_loads_and_predicts(tmp_path):
    """The word-only NER config looks words up with case (`ain_cased_single_id` +
    `ain_cased_embedding`): it trains, and the archive predicts without the GloVe file
    (`load_archive` drops `pretrained_file`)."""
    config = "conll03_ner.jsonnet"
    glove = tmp_path / "glove.txt"
    glove.write_text(GLOVE.read_text())
    ext_vars = {**_ext_vars(config, "word", "crf"), "GLOVE": str(glove)}
    overrides = json.dumps({"trainer.num_epochs": 1})
    params = Params.from_file(str(CONFIGS / config), params_overrides=overrides, ext_vars=ext_vars)
    assert params["dataset_reader"]["token_indexers"]["tokens"].as_dict() == {"type": "ain_cased_single_id"}
    model = train_model(params, str(tmp_path / "run"))
    vocab = model.vocab.get_token_to_index_vocabulary("tokens")
    assert "Maria" in vocab and "maria" in vocab  # the training word as written, GloVe's lowercased
    embedding = model.text_field_embedder.token_embedder_tokens.weight
    assert not torch.equal(embedding[vocab["Maria"]], embedding[vocab["maria"]])  # one trained, one not
    glove.unlink()
    from allennlp.predictors import Predictor

    predictor = Predictor.from_path(str(tmp_path / "run" / "model.tar.gz"))
    output = predictor.predict_json({"tokens": ["Maria", "visited", "OSLO", "on", "Tuesday", "."]})
    assert len(output["tags"]) == 6


# docs/results-accuracy.md: the override that gives the word-only NER configs' lowercased lookup back
LOWERCASE = {
    "dataset_reader.token_indexers.tokens": {"type": "single_id", "lowercase_tokens": True},
    "model.text_field_embedder.token_embedders.tokens.type": "embedding",
}


@pytest.mark.parametrize("config", ["conll03_ner.jsonnet", "conll02_ner.jsonnet"])
def test_the_lowercase_override_gives_the_other_configs_word_lookup(config):
    def build(name, overrides=None):
        ext_vars = {**_ext_vars(config, "word", "crf"), "TRAIN_DATA": "t", "DEV_DATA": "d", "TEST_DATA": "s"}
        return Params.from_file(str(CONFIGS / name), params_overrides=json.dumps(overrides or {}), ext_vars=ext_vars)

    ner = build(config, LOWERCASE).as_dict()
    chunk = build("conll03_chunk.jsonnet").as_dict()  # a config that lowercases
    assert ner["dataset_reader"]["token_indexers"] == chunk["dataset_reader"]["token_indexers"]
    assert ner["model"]["text_field_embedder"] == chunk["model"]["text_field_embedder"]


# docs/results-accuracy.md: the override of the `_cd` rows (dropout 0.5 on the character embeddings)
CHAR_DROPOUT = {"model.text_field_embedder.token_embedders.token_characters.embedding_dropout": 0.5}


@pytest.mark.parametrize("overrides, rate", [({}, 0.0), (CHAR_DROPOUT, 0.5)])
def test_the_character_dropout_override_reaches_the_character_embeddings(overrides, rate):
    config = "conll03_ner.jsonnet"
    params = Params.from_file(
        str(CONFIGS / config), params_overrides=json.dumps(overrides), ext_vars=_ext_vars(config, "bilstm", "crf", glove="")
    )
    embedder = TextFieldEmbedder.from_params(params["model"]["text_field_embedder"], vocab=Vocabulary())
    characters = embedder._token_embedders["token_characters"]
    assert isinstance(characters, CharacterEncoding)
    assert characters._embedding_dropout.p == rate
