"""
The `ain_tagger` predictor on a multilingual model (Lin et al., 2018; the session's
`multilingual_archive`: Dutch and English NER and POS): a line's `"language"` picks the language's
words and gates, batches of several languages run one model call per language, and a language
the model does not know is a bad line of its own.
"""
import json

import pytest
from allennlp.commands.predict import _PredictManager
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from allennlp_ain.predictors.ain_tagger import AinTaggerPredictor

LINES = [
    {"tokens": ["Anneke", "fietst", "naar", "Gouda", "."], "language": "nl"},
    {"tokens": ["Maria", "visited", "Oslo", "."], "language": "en", "top_k": 2},
    {"sentence": "Het museum in Utrecht opent morgen."},  # the default language: the target's, Dutch
    {"sentence": "Peter flew to Berlin with Anna.", "language": "en", "marginals": True},
    {"tokens": ["Jan", "woont", "in", "Delft", "."], "language": "nl", "top_k": 1},
    {"tokens": ["Anna", "met", "Tom", "."], "language": "en"},
]


@pytest.fixture(scope="module")
def archive(multilingual_archive):
    return load_archive(str(multilingual_archive))


@pytest.fixture(scope="module")
def predictor(archive) -> AinTaggerPredictor:
    predictor = Predictor.from_archive(archive)
    assert isinstance(predictor, AinTaggerPredictor)
    return predictor


def assert_same(a, b) -> None:
    """Equal outputs, floats up to 1e-5 (batches pad differently)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-5)
    else:
        assert a == b


def test_the_model_languages_and_the_default_language(predictor):
    assert predictor.languages == ["en", "nl"]
    # the archive's validation reader is the target's (Dutch NER), so a line without "language" is Dutch
    assert predictor.default_language == "nl"
    tokens = LINES[0]["tokens"]
    dutch = predictor.predict_json({"tokens": tokens, "language": "nl"})
    assert_same(predictor.predict_json({"tokens": tokens}), dutch)
    assert_same(predictor.predict_json({"tokens": tokens, "language": None}), dutch)  # null is as absent


def test_a_batch_of_mixed_languages_equals_each_line_alone(predictor, monkeypatch):
    alone = [predictor.predict_json(line) for line in LINES]
    calls = []
    run_batch = predictor._run_batch

    def spy(instances, reader, top_k):
        calls.append({instance["metadata"]["language"] for instance in instances})
        return run_batch(instances, reader, top_k)

    monkeypatch.setattr(predictor, "_run_batch", spy)
    batched = predictor.predict_batch_json(LINES)
    assert calls == [{"nl"}, {"en"}]  # one model call per language, in the order they first come
    assert len(batched) == len(LINES)
    for output, single, line in zip(batched, alone, LINES):
        assert_same(output, single)
        assert output["tokens"] == line.get("tokens", output["tokens"])
    # each line is tagged in its own language: the English line differs from itself read as Dutch
    as_dutch = predictor.predict_json(dict(LINES[1], language="nl"))
    assert batched[1]["ner"]["confidence"] != pytest.approx(as_dutch["ner"]["confidence"], abs=1e-5)


def test_instances_of_mixed_languages_are_grouped_too(archive, predictor):
    readers = {"en": archive.dataset_reader.readers["en_ner"].inner, "nl": archive.dataset_reader.readers["nl_ner"].inner}
    instances = [readers[language].text_to_instance(tokens) for language, tokens in
                 [("en", ["Maria", "visited", "Oslo", "."]), ("nl", ["Jan", "woont", "in", "Delft"]), ("en", ["Tom", "."])]]
    alone = [predictor.predict_instance(instance) for instance in instances]
    for output, single in zip(predictor.predict_batch_instance(instances), alone):
        assert_same(output, single)


def test_a_language_without_its_own_reader_reads_as_training_did(archive, predictor):
    """The validation reader is the Dutch target's; the English one the predictor makes of it
    indexes as the English training reader does."""
    made = predictor._language_reader("en")
    english = archive.dataset_reader.readers["en_ner"].inner
    assert made.language == "en" and list(made._token_indexers) == list(english._token_indexers)
    for key, indexer in english._token_indexers.items():
        assert type(made._token_indexers[key]) is type(indexer) and vars(made._token_indexers[key]) == vars(indexer)
    assert predictor._language_reader("nl") is archive.validation_dataset_reader.readers["nl_ner"].inner
    # with the training readers (`--dataset-reader-choice train`) each language has its own: same outputs
    trained = Predictor.from_archive(archive, dataset_reader_to_load="train", extra_args={"default_language": "nl"})
    assert trained._language_reader("en") is english
    for line in LINES:
        assert_same(trained.predict_json(line), predictor.predict_json(line))


def test_raw_text_is_split_by_the_lines_language(predictor):
    assert predictor._language_tokenizer("nl").vocab.lang == "nl"
    assert predictor._language_tokenizer("en").vocab.lang == "en"


def test_an_unknown_language_is_an_error_naming_the_known_ones(predictor):
    for language in ("fr", 7, "", ["en"]):
        with pytest.raises(ValueError, match=r"Unknown language .* this model knows \['en', 'nl'\]"):
            predictor.predict_json({"tokens": ["Marie", "."], "language": language})


def test_without_a_default_language_a_line_must_name_its_own(archive):
    # the training readers hold both languages: no default unless one is given
    predictor = Predictor.from_archive(archive, dataset_reader_to_load="train")
    assert predictor.default_language is None
    with pytest.raises(ValueError, match=r'No "language" .* several languages \[\'en\', \'nl\'\]'):
        predictor.predict_json({"tokens": ["Anna", "."]})
    english = Predictor.from_archive(archive, dataset_reader_to_load="train", extra_args={"default_language": "en"})
    assert_same(english.predict_json({"tokens": ["Anna", "."]}), english.predict_json({"tokens": ["Anna", "."], "language": "en"}))
    with pytest.raises(ValueError, match=r"default_language 'fr' is not a language of this model; it knows \['en', 'nl'\]"):
        Predictor.from_archive(archive, extra_args={"default_language": "fr"})


def _predict_in_process(predictor, lines, tmp_path, batch_size):
    """The machinery of `allennlp predict`, in-process."""
    source = tmp_path / "input.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output = tmp_path / f"out_{batch_size}.jsonl"
    _PredictManager(predictor, str(source), str(output), batch_size, False, False).run()
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_an_unknown_language_is_an_error_object_for_its_line_only(archive, predictor, tmp_path, batch_size):
    good = [json.dumps(line) for line in LINES]
    bad = {
        json.dumps({"tokens": ["Marie", "est", "partie", "."], "language": "fr"}): "Unknown language 'fr'",
        json.dumps({"sentence": "Anna slaapt.", "language": 7}): "Unknown language 7",
        json.dumps({"tokens": [], "language": "en"}): "Nothing to tag",
    }
    lines = [good[0], *list(bad)[:1], good[1], good[2], *list(bad)[1:], good[3], good[4], good[5]]
    outputs = _predict_in_process(Predictor.from_archive(archive), lines, tmp_path, batch_size)
    assert len(outputs) == len(lines)
    for number, (line, output) in enumerate(zip(lines, outputs), start=1):
        if line in bad:
            assert output == {"error": output["error"], "input": number}
            assert output["error"].startswith(f"input {number}: ") and bad[line] in output["error"]
            if "language" in bad[line]:
                assert "this model knows ['en', 'nl']" in output["error"]
        else:
            assert_same(output, predictor.predict_json(json.loads(line)))


def test_a_monolingual_model_ignores_the_language(trained_archive):
    predictor = Predictor.from_path(trained_archive)
    assert predictor.languages == [] and predictor.default_language is None
    tokens = ["Anna", "visited", "Paris", "."]
    plain = predictor.predict_json({"tokens": tokens})
    for language in ("nl", "xx", 7):
        assert_same(predictor.predict_json({"tokens": tokens, "language": language}), plain)


def test_zero_shot_reads_an_unseen_language_with_a_known_ones_words_and_no_gate(archive, monkeypatch):
    predictor = Predictor.from_archive(archive, extra_args={"zero_shot": "en"})
    tokens = ["Marie", "woont", "in", "Berlin", "."]
    german = predictor.predict_json({"tokens": tokens, "language": "de"})
    english = predictor.predict_json({"tokens": tokens, "language": "en"})
    # the reference: the English reading with every head's language gates switched off
    for head in archive.model.heads.values():
        monkeypatch.setattr(head, "languages", [])
    ungated = predictor.predict_json({"tokens": tokens, "language": "en"})
    monkeypatch.undo()
    assert_same(german, ungated)
    assert german["ner"]["confidence"] != pytest.approx(english["ner"]["confidence"], abs=1e-5)  # no English gate
    # a batch with known and unseen languages: each line as alone
    lines = [{"tokens": tokens, "language": "de"}, LINES[0], {"tokens": ["Ana", "."], "language": "pt"}, LINES[1]]
    for output, line in zip(predictor.predict_batch_json(lines), lines):
        assert_same(output, predictor.predict_json(line))
    with pytest.raises(ValueError, match="Unknown language 7"):
        predictor.predict_json({"tokens": tokens, "language": 7})


def test_zero_shot_must_name_a_language_with_word_embeddings(archive, predictor):
    with pytest.raises(ValueError, match=r"Unknown language 'de' .*predictor's zero_shot tags other languages"):
        predictor.predict_json({"tokens": ["Marie", "."], "language": "de"})
    with pytest.raises(ValueError, match=r"word embeddings per language \['en', 'nl'\]; name the one"):
        Predictor.from_archive(archive, extra_args={"zero_shot": True})
    with pytest.raises(ValueError, match=r"zero_shot 'fr' is not a language of this model's word embeddings"):
        Predictor.from_archive(archive, extra_args={"zero_shot": "fr"})


def test_zero_shot_true_reads_an_unseen_language_with_shared_words_and_no_gate(tmp_path, monkeypatch):
    """A model whose words are one vocabulary for every language (a plain embedder, heads with
    language gates): `zero_shot: true` tags a language it does not know with those words and the
    universal layer alone; naming a language is then not needed, and a name it lacks is refused."""
    from allennlp.commands.train import train_model

    from tests.helpers import multilingual_params

    params = multilingual_params("dutch_ner.jsonnet", "cross_lingual")
    for reader in params["dataset_reader"]["readers"].values():
        reader["token_indexers"] = {"tokens": {"type": "single_id", "lowercase_tokens": True},
                                    "token_characters": reader["token_indexers"]["token_characters"].as_dict()}
    for reader in params["validation_dataset_reader"]["readers"].values():
        reader["token_indexers"] = {"tokens": {"type": "single_id", "lowercase_tokens": True},
                                    "token_characters": reader["token_indexers"]["token_characters"].as_dict()}
    embedder = params["model"]["text_field_embedder"]
    params["model"]["text_field_embedder"] = {
        "token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 50},
                            "token_characters": embedder["shared"]["token_characters"].as_dict()}}
    params["vocabulary"] = {"type": "from_instances", "tokens_to_add": {"ner_labels": ["@@UNKNOWN@@"]}}
    train_model(params, str(tmp_path / "run"))
    archive = load_archive(str(tmp_path / "run" / "model.tar.gz"))
    assert sorted(archive.model.heads["ner"].languages) == ["en", "nl"]

    predictor = Predictor.from_archive(archive, extra_args={"zero_shot": True})
    assert predictor.zero_shot is True
    tokens = ["Marie", "woont", "in", "Berlin", "."]
    german = predictor.predict_json({"tokens": tokens, "language": "de"})
    dutch = predictor.predict_json({"tokens": tokens, "language": "nl"})
    for head in archive.model.heads.values():  # the reference: the Dutch reading without gates
        monkeypatch.setattr(head, "languages", [])
    ungated = predictor.predict_json({"tokens": tokens, "language": "nl"})
    monkeypatch.undo()
    assert_same(german, ungated)
    # one task: the output of a single-task tagger
    assert german["confidence"] != pytest.approx(dutch["confidence"], abs=1e-5)  # no Dutch gate
    with pytest.raises(ValueError, match=r"zero_shot 'fr' is not a language of this model's word embeddings; it knows \['en', 'nl'\]"):
        Predictor.from_archive(archive, extra_args={"zero_shot": "fr"})
