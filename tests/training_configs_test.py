"""
The shipped training configs are built and trained for one epoch against the fixtures (with
smaller hidden layers, for speed), through AllenNLP's `train_model`: every config with one
encoder/decoder pair, and every encoder x decoder on `conll03_ner.jsonnet`. Each axis is covered
in full without training the whole product. Also the lib's rules: label encodings derived from
the readers, errors for unknown option keys and decoder names.
"""
import json
import sys
from typing import List

import _jsonnet
import pytest
import torch
from allennlp.commands import main
from allennlp.commands.train import train_model
from allennlp.common import Params, file_utils
from allennlp.data import Vocabulary
from allennlp.modules.text_field_embedders import TextFieldEmbedder

import allennlp_ain  # noqa: F401  (registers the components)
from allennlp_ain.modules.token_embedders import CharacterEncoding
from tests.helpers import CONFIGS, FIXTURES

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


def evaluate_lib(expression: str) -> object:
    """The value of a jsonnet `expression` in which `lib` is `training_configs/lib/tagger.libsonnet`."""
    snippet = f"local lib = import 'lib/tagger.libsonnet'; {expression}"
    return json.loads(_jsonnet.evaluate_snippet("snippet", snippet, jpathdir=[str(CONFIGS)]))


def lib_decoders() -> List[str]:
    """The decoder names of the lib's `decoders` table, the names DECODER takes."""
    return evaluate_lib("std.objectFields(lib.decoders)")


ENCODERS = ("bilstm", "cnn", "word")
DECODERS = tuple(lib_decoders())
# Smaller layers than the paper's, so the configs train in seconds.
SMALL = {"bilstm": {"model.encoder.hidden_size": 8}, "cnn": {"model.encoder.hidden_dim": 8}, "word": {}}
# The trained cells: every config with one encoder/decoder pair (the pair turns with the config, so
# every encoder and every decoder appears), plus every encoder x decoder on one config.
CROSS_CONFIG = "conll03_ner.jsonnet"
CELLS = sorted(
    {(config, ENCODERS[i % len(ENCODERS)], DECODERS[i % len(DECODERS)]) for i, config in enumerate(sorted(DATA))}
    | {(CROSS_CONFIG, encoder, decoder) for encoder in ENCODERS for decoder in DECODERS}
)


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


def test_the_lib_has_the_papers_decoders_and_encoders():
    # none may vanish from the trained cells without failing here
    assert set(lib_decoders()) == {"maxent", "crf", "mfvi1", "mfvi2"}
    assert set(evaluate_lib("std.objectFields(lib.encoders)")) == set(ENCODERS)


def test_the_trained_cells_cover_every_config_encoder_and_decoder():
    assert {config for config, _, _ in CELLS} == set(DATA)
    for config in DATA:
        pairs = {(encoder, decoder) for c, encoder, decoder in CELLS if c == config}
        assert len(pairs) == (len(ENCODERS) * len(DECODERS) if config == CROSS_CONFIG else 1)
    assert {encoder for c, encoder, _ in CELLS if c != CROSS_CONFIG} == set(ENCODERS)
    assert {decoder for c, _, decoder in CELLS if c != CROSS_CONFIG} == set(DECODERS)


@pytest.mark.parametrize("config, encoder, decoder", CELLS)
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


@pytest.mark.parametrize("config", sorted(DATA))
def test_the_label_encoding_is_the_readers(config):
    params = Params.from_file(str(CONFIGS / config), ext_vars=_ext_vars(config, "word", "crf")).as_dict()
    reader = params["dataset_reader"]
    label_encoding = params["model"]["label_encoding"]
    if config == "ud_pos.jsonnet":
        assert reader["type"] == "ain_ud" and label_encoding is None
        assert params["trainer"]["validation_metric"] == "+accuracy"
    else:
        assert label_encoding == reader["convert_to"] == "BIOES"
        assert params["trainer"]["validation_metric"] == "+f1-measure-overall"
    assert params.get("validation_dataset_reader", reader).get("convert_to") == reader.get("convert_to")


TASK = "lib.task(reader={type: 'ain_conll', tag_scheme: 'BIO', convert_to: 'BIOES'}, train='t', dev='d', test=null)"


def test_options_and_scheme_free_readers_give_their_label_encoding():
    cell = evaluate_lib(f"lib.experiment({TASK}, 'word', 'crf', {{num_epochs: 3, dropout: 0.25}})")
    assert cell["trainer"]["num_epochs"] == 3 and cell["trainer"]["validation_metric"] == "+f1-measure-overall"
    assert cell["model"]["label_encoding"] == "BIOES" and cell["evaluate_on_test"] is False
    no_conversion = "lib.task(reader={type: 'ain_conll', tag_scheme: 'IOB1', convert_to: null}, train='t', dev='d', test=null)"
    assert evaluate_lib(no_conversion)["label_encoding"] == "IOB1"
    assert evaluate_lib("lib.vocabulary(null, ['labels', 'chunks'])")["tokens_to_add"] == {
        "labels": ["@@UNKNOWN@@"],
        "chunks": ["@@UNKNOWN@@"],
    }


@pytest.mark.parametrize(
    "expression, message",
    [
        (f"lib.experiment({TASK}, 'word', 'crf', {{num_epoch: 3, glove: null}})", "unknown experiment option num_epoch;"),
        (f"lib.experiment({TASK}, 'word', 'mfvi3')", "unknown decoder mfvi3; the decoders are crf, maxent, mfvi1, mfvi2"),
        # the lib cannot see the readers' Python defaults (BIO -> BIOES), so they must be written
        ("lib.task(reader={type: 'ain_conll', tag_scheme: 'IOB1'}, train='t', dev='d', test=null)", "must set both"),
        (
            "lib.task(reader={type: 'ain_atis', tag_scheme: 'BIO', convert_to: 'BIOES'}, train='t', dev='d', test=null,"
            " validation_reader={type: 'ain_atis', tag_scheme: 'BIO', convert_to: null})",
            "the validation reader gives BIO labels, the reader BIOES",
        ),
    ],
)
def test_the_lib_names_what_it_does_not_know(expression, message):
    with pytest.raises(RuntimeError, match=message):
        evaluate_lib(expression)


def test_a_config_names_an_unknown_decoder():
    config = "ud_pos.jsonnet"
    with pytest.raises(RuntimeError, match="unknown decoder mfvi; the decoders are crf, maxent, mfvi1, mfvi2"):
        _jsonnet.evaluate_file(str(CONFIGS / config), ext_vars=_ext_vars(config, "bilstm", "mfvi"))


# The distillation configs (`training_configs/distillation/`): each trains a student for an epoch on
# the fixture against a CRF teacher trained with `conll03_ner.jsonnet` (`conll03_teacher_archive`),
# with the teacher signals cached in the test's folder.
DISTILLATION = CONFIGS / "distillation"
DISTILLATION_CELLS = [("crf_to_ain.jsonnet", "word", "posterior+top_wk"), ("crf_to_ain.jsonnet", "cnn", "emission")]
MULTILINGUAL_DISTILLATION_CELLS = [("multilingual_ner.jsonnet", "top_wk")]


def test_every_distillation_config_has_a_cell():
    cells = DISTILLATION_CELLS + MULTILINGUAL_DISTILLATION_CELLS
    assert sorted(path.name for path in DISTILLATION.glob("*.jsonnet")) == sorted({cell[0] for cell in cells})


def _distillation_params(config: str, encoder: str, loss: str, teacher: str) -> Params:
    ext_vars = {**_ext_vars("conll03_ner.jsonnet", encoder, "crf"), "TEACHER": teacher, "LOSS": loss}
    overrides = {"trainer.num_epochs": 1, **SMALL[encoder]}
    return Params.from_file(str(DISTILLATION / config), params_overrides=json.dumps(overrides), ext_vars=ext_vars)


@pytest.mark.parametrize("config, encoder, loss", DISTILLATION_CELLS)
def test_distillation_config_trains(config, encoder, loss, conll03_teacher_archive, tmp_path, monkeypatch):
    monkeypatch.setattr(file_utils, "CACHE_DIRECTORY", str(tmp_path / "cache"))
    params = _distillation_params(config, encoder, loss, str(conll03_teacher_archive))
    assert params["model"]["decoder"].as_dict() == {"type": "mfvi", "order": 1, "iterations": 3}
    assert params["model"]["distillation"]["loss"] == loss and params["model"]["distillation"]["interpolation"] == 1.0
    assert params.as_dict()["trainer"]["callbacks"][-1] == {
        "type": "ain_distillation", "teachers": str(conll03_teacher_archive), "annealing": 0.005
    }
    model = train_model(params, str(tmp_path / "run"))
    assert model.head.distillation.loss_name == loss
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training_distillation_loss"] > 0 and "test_f1-measure-overall" in metrics
    assert len(list((tmp_path / "cache" / "ain_distillation").glob("*.pt"))) == 1


def test_the_lib_names_an_unknown_distillation_loss():
    with pytest.raises(RuntimeError, match="unknown distillation loss kl; the losses are emission, posterior"):
        evaluate_lib("lib.distillation_loss('kl')")


@pytest.mark.parametrize("config, loss", MULTILINGUAL_DISTILLATION_CELLS)
def test_multilingual_distillation_config_trains(config, loss, union_labels_teacher, tmp_path, monkeypatch):
    """English and Spanish taught (one fixture teacher for both), Dutch, the target, on gold alone."""
    from tests.helpers import ESP, NED

    monkeypatch.setattr(file_utils, "CACHE_DIRECTORY", str(tmp_path / "cache"))
    ext_vars = {"LANGUAGES": "en,es,nl", "TARGET": "nl", "LOSS": loss, "CUDA_DEVICE": "-1", "INTERPOLATION": "", "BASE": "",
                "EN_TEACHER": union_labels_teacher, "ES_TEACHER": union_labels_teacher, "NL_TEACHER": "",
                "EN_TRAIN": str(CONLL03), "ES_TRAIN": str(ESP), "NL_TRAIN": str(NED), "NL_DEV": str(NED), "NL_TEST": str(NED),
                "EN_EMBEDDINGS": str(GLOVE), "ES_EMBEDDINGS": "", "NL_EMBEDDINGS": ""}
    overrides = {"trainer.num_epochs": 1, "data_loader.scheduler.batch_size": 1, "model.encoder.encoder.hidden_size": 4}
    params = Params.from_file(str(DISTILLATION / config), params_overrides=json.dumps(overrides), ext_vars=ext_vars)
    callback = params.as_dict()["trainer"]["callbacks"][-1]
    assert callback["teachers"] == {"en": union_labels_teacher, "es": union_labels_teacher}
    model = train_model(params, str(tmp_path / "run"))
    assert model.heads["ner"].distillation.loss_name == loss and model.heads["ner"].languages == ["en", "es", "nl"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training_ner_distillation_loss"] > 0 and "test_ner_f1-measure-overall" in metrics


def test_the_multilingual_student_without_kd_reads_no_teacher():
    from tests.helpers import ESP, NED

    # no *_TEACHER variable at all: LOSS=none reads none
    ext_vars = {"LANGUAGES": "en,es,nl", "TARGET": "es", "LOSS": "none", "CUDA_DEVICE": "-1", "INTERPOLATION": "", "BASE": "",
                "EN_TRAIN": str(CONLL03), "ES_TRAIN": str(ESP), "NL_TRAIN": str(NED), "ES_DEV": str(ESP), "ES_TEST": str(ESP),
                "EN_EMBEDDINGS": str(GLOVE), "ES_EMBEDDINGS": "", "NL_EMBEDDINGS": ""}
    params = Params.from_file(str(DISTILLATION / "multilingual_ner.jsonnet"), ext_vars=ext_vars).as_dict()
    assert all(callback["type"] != "ain_distillation" for callback in params["trainer"].get("callbacks", []))
    assert "distillation" not in params["model"]["heads"]["ner"]
    assert sorted(params["model"]["heads"]["ner"]["languages"]) == ["en", "es", "nl"]
    taught = Params.from_file(str(DISTILLATION / "multilingual_ner.jsonnet"),
                              ext_vars={**ext_vars, "LOSS": "posterior", "EN_TEACHER": "en.tar.gz", "ES_TEACHER": "", "NL_TEACHER": ""})
    assert taught.as_dict()["trainer"]["callbacks"][-1] == {"type": "ain_distillation", "teachers": {"en": "en.tar.gz"}, "annealing": 0.005}
    assert taught.as_dict()["model"]["heads"]["ner"]["distillation"]["interpolation"] == 1.0
    fixed = Params.from_file(str(DISTILLATION / "multilingual_ner.jsonnet"),
                             ext_vars={**ext_vars, "LOSS": "posterior", "EN_TEACHER": "en.tar.gz", "ES_TEACHER": "", "NL_TEACHER": "",
                                       "INTERPOLATION": "0.5"}).as_dict()
    assert fixed["trainer"]["callbacks"][-1] == {"type": "ain_distillation", "teachers": {"en": "en.tar.gz"}}  # no annealing
    assert fixed["model"]["heads"]["ner"]["distillation"]["interpolation"] == 0.5
    assert {k: v for k, v in taught.as_dict()["model"].items() if k != "heads"} == {k: v for k, v in params["model"].items() if k != "heads"}


def test_a_fine_tuned_multilingual_model_teaches_its_language_with_its_own_words(fine_tuned_teacher, tmp_path, monkeypatch):
    """`BASE` fine-tunes a multilingual model on one language (its weights and vocabulary; only that
    language's words move), and such an `ain_multitask_tagger` archive teaches that language: the
    cached signals are the teacher's own marginals as its predictor gives them for the language,
    and a language the teacher has no dataset of is a clear error."""
    from allennlp.common.checks import ConfigurationError
    from allennlp.models.archival import load_archive
    from allennlp.predictors import Predictor

    from tests.helpers import ESP, train_multilingual_ner

    monkeypatch.setattr(file_utils, "CACHE_DIRECTORY", str(tmp_path / "cache"))
    base, spanish = fine_tuned_teacher
    before, after = load_archive(base).model, load_archive(spanish).model
    assert after.vocab.get_index_to_token_vocabulary("tokens_es") == before.vocab.get_index_to_token_vocabulary("tokens_es")
    weights = lambda model, language: model.text_field_embedder.state_dict()[f"words.{language}.weight"]  # noqa: E731
    assert torch.equal(weights(after, "en"), weights(before, "en"))  # English trained nowhere in the fine-tuning
    assert not torch.equal(weights(after, "es"), weights(before, "es"))

    train_multilingual_ner(tmp_path / "student", "en,es", "es", loss="posterior", teachers={"en": base, "es": spanish})
    metrics = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert metrics["training_ner_distillation_loss"] > 0
    caches = [torch.load(path) for path in (tmp_path / "cache" / "ain_distillation").glob("*.pt")]
    assert len(caches) == 2  # one per teacher (and language)
    predictor = Predictor.from_archive(load_archive(spanish), "ain_tagger", extra_args={"marginals": True})
    words: List[str] = []  # the first Spanish sentence
    for line in ESP.read_text().splitlines():
        if not line.strip() and words:
            break
        words += line.split()[:1]
    first = tuple(words)
    [spanish_cache] = [cache for cache in caches if first in cache["signals"]]
    output = predictor.predict_json({"tokens": list(first), "language": "es"})
    expected = torch.tensor([[token[label] for label in spanish_cache["labels"]] for token in output["marginals"]])
    assert torch.allclose(spanish_cache["signals"][first][1].exp(), expected, atol=1e-4)

    with pytest.raises(ConfigurationError, match=r"no training dataset of task 'ner' in language 'en'.*es_ner \(language es, task ner\)"):
        train_multilingual_ner(tmp_path / "wrong", "en,es", "es", loss="posterior", teachers={"en": spanish, "es": spanish})
