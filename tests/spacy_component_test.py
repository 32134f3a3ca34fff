import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
import spacy
from allennlp.predictors import Predictor

from allennlp_ain_spacy import AinTaggerComponent

TEXTS = [
    "Maria Lopez flew to Berlin with John Smith.",
    "Anna visited Paris.",
    "",
    "Tom met Sara in  Lisbon.",
    "The Acme Corporation opened an office in Nairobi.",
]


@pytest.fixture(scope="module")
def nlp(trained_archive):
    nlp = spacy.blank("en")
    nlp.add_pipe("ain_tagger", config={"archive": str(trained_archive)})
    return nlp


def annotations(doc):
    return (
        [(ent.start, ent.end, ent.label_) for ent in doc.ents],
        [(token.tag_, token._.ain_label) for token in doc],
        [token._.ain_confidence for token in doc],
    )


def assert_same_docs(a, b):
    ents_a, tags_a, confidence_a = annotations(a)
    ents_b, tags_b, confidence_b = annotations(b)
    assert (ents_a, tags_a) == (ents_b, tags_b)
    assert [c is None for c in confidence_a] == [c is None for c in confidence_b]
    known_a = [c for c in confidence_a if c is not None]
    assert known_a == pytest.approx([c for c in confidence_b if c is not None], abs=1e-4)  # float32, other padding


def test_entities_tags_and_confidence_match_the_predictor(nlp, trained_archive):
    doc = nlp(TEXTS[0])
    reference = Predictor.from_path(trained_archive).predict_json({"sentence": TEXTS[0]})
    assert [t.text for t in doc] == reference["tokens"]
    assert [t.tag_ for t in doc] == [t._.ain_label for t in doc] == reference["tags"]
    assert [t._.ain_confidence for t in doc] == pytest.approx(reference["confidence"], abs=1e-5)
    assert [(e.label_, e.start_char, e.end_char) for e in doc.ents] == [
        (s["label"], s["start_char"], s["end_char"]) for s in reference["spans"]
    ]
    assert {e.label_ for e in doc.ents} >= {"PER", "LOC"}


def test_whitespace_tokens_get_no_label(nlp):
    doc = nlp(TEXTS[3])
    space = [t for t in doc if t.is_space]
    assert space and all(t.tag_ == "" and t._.ain_label is None and t._.ain_confidence is None for t in space)
    assert all(t._.ain_label is not None for t in doc if not t.is_space)


def test_pipe_batches_equal_single_docs(nlp):
    batched = list(nlp.pipe(TEXTS, batch_size=2))
    for doc, text in zip(batched, TEXTS):
        assert_same_docs(doc, nlp(text))
    assert list(batched[2].ents) == [] and len(batched[2]) == 0


def _many_texts(count: int) -> list:
    """`count` short texts (a few dozen distinct ones of 1 to 12 words, blank ones among them), mixed."""
    words = " ".join(TEXTS).split()
    distinct = [" ".join(words[(k + j) % len(words)] for j in range(1 + k % 12)) for k in range(40)] + ["", "  \n "]
    return [distinct[(i * 17) % len(distinct)] for i in range(count)]


@pytest.mark.parametrize("spacy_batch_size", [None, 5, 100])
def test_model_calls_hold_at_most_batch_size_docs_however_spacy_batches(trained_archive, monkeypatch, spacy_batch_size):
    nlp = spacy.blank("en")
    component = nlp.add_pipe("ain_tagger", config={"archive": str(trained_archive), "batch_size": 16})
    calls = []
    predict_batch_json = component.predictor.predict_batch_json

    def counted(inputs):
        calls.append([len(i["tokens"]) for i in inputs])
        return predict_batch_json(inputs)

    monkeypatch.setattr(component.predictor, "predict_batch_json", counted)
    texts = _many_texts(2500)
    # spaCy hands its own batch (1000 docs unless told) to the component's pipe
    docs = list(nlp.pipe(texts) if spacy_batch_size is None else nlp.pipe(texts, batch_size=spacy_batch_size))
    assert [doc.text for doc in docs] == texts
    assert calls and max(len(call) for call in calls) <= min(16, spacy_batch_size or 16)
    assert sum(len(call) for call in calls) == sum(1 for text in texts if text.strip())
    if spacy_batch_size is None:  # docs of similar length share a call: little padding
        assert sum(max(call) * len(call) for call in calls) <= 1.2 * sum(sum(call) for call in calls)
    monkeypatch.undo()
    alone = {text: nlp(text) for text in set(texts)}
    for doc in docs:
        assert_same_docs(doc, alone[doc.text])


def test_predict_splits_a_large_batch_too(nlp, monkeypatch):
    component = nlp.get_pipe("ain_tagger")
    sizes = []
    predict_batch_json = component.predictor.predict_batch_json
    monkeypatch.setattr(component.predictor, "predict_batch_json", lambda inputs: sizes.append(len(inputs)) or predict_batch_json(inputs))
    docs = [nlp.make_doc(text) for text in _many_texts(200)]
    predictions = component.predict(docs)
    assert max(sizes) <= component.batch_size and sum(sizes) == sum(1 for doc in docs if doc.text.strip())
    assert [p is None for p in predictions] == [not doc.text.strip() for doc in docs]
    assert [len(p["indices"]) for p in predictions if p] == [len(doc) for doc in docs if doc.text.strip()]


def test_empty_whitespace_and_very_long_docs(nlp):
    long_text = " ".join(["Maria Lopez flew to Berlin with John Smith ."] * 560)
    texts = ["", " ", "\n\n\t ", "\u3000", long_text, "Anna visited Paris.", "😀 北京 ברלין برلين"]
    docs = list(nlp.pipe(texts, batch_size=3))
    for doc in docs[:4]:
        assert not doc.ents and all(t._.ain_label is None and t.tag_ == "" for t in doc)
    assert len(docs[4]) >= 5000 and all(t._.ain_label for t in docs[4]) and docs[4].ents
    assert all(t._.ain_label for t in docs[6])
    for doc, text in zip(docs, texts):
        assert_same_docs(doc, nlp(text))


def test_predict_and_set_annotations(nlp):
    component = nlp.get_pipe("ain_tagger")
    docs = [nlp.make_doc(text) for text in TEXTS]
    predictions = component.predict(docs)
    assert predictions[2] is None
    assert len(predictions[0]["tags"]) == len(docs[0])
    component.set_annotations(docs, predictions)
    for doc, text in zip(docs, TEXTS):
        assert_same_docs(doc, nlp(text))


def test_overlapping_spans_are_filtered_with_a_warning(nlp):
    component = nlp.get_pipe("ain_tagger")
    doc = nlp.make_doc("Maria Lopez flew to Berlin")
    prediction = {
        "indices": list(range(5)),
        "tags": ["B-PER", "E-PER", "O", "O", "S-LOC"],
        "confidence": [0.9] * 5,
        "spans": [
            {"label": "PER", "start": 0, "end": 2},
            {"label": "ORG", "start": 1, "end": 2},
            {"label": "LOC", "start": 4, "end": 5},
        ],
    }
    with pytest.warns(UserWarning, match="dropped overlapping entity spans"):
        component.set_annotations([doc], [prediction])
    assert [(e.text, e.label_) for e in doc.ents] == [("Maria Lopez", "PER"), ("Berlin", "LOC")]


def test_token_attribute_is_configurable(trained_archive):
    nlp = spacy.blank("en")
    nlp.add_pipe("ain_tagger", config={"archive": str(trained_archive), "token_attr": "pos", "set_ents": False})
    with pytest.warns(UserWarning, match="not Universal POS tags"):
        doc = nlp("Anna visited Paris.")
    assert all(t.pos_ == "" for t in doc) and not doc.ents
    assert all(t._.ain_label for t in doc)

    nlp = spacy.blank("en")
    nlp.add_pipe("ain_tagger", config={"archive": str(trained_archive), "token_attr": None})
    doc = nlp("Anna visited Paris.")
    assert all(t.tag_ == "" for t in doc) and doc.ents


def test_pos_labels_are_written_to_pos(nlp):
    component = nlp.get_pipe("ain_tagger")
    doc = nlp.make_doc("Anna visited Paris")
    prediction = {"indices": [0, 1, 2], "tags": ["PROPN", "VERB", "PROPN"], "confidence": [1.0] * 3}
    pos_component = AinTaggerComponent(nlp, "pos", archive=component.archive, token_attr="pos")
    pos_component.set_annotations([doc], [prediction])
    assert [t.pos_ for t in doc] == ["PROPN", "VERB", "PROPN"]


def test_bad_settings_and_missing_archive_give_clear_errors(tmp_path):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="token_attr must be one of"):
        nlp.add_pipe("ain_tagger", config={"archive": "model.tar.gz", "token_attr": "lemma"})
    nlp.add_pipe("ain_tagger", config={"archive": str(tmp_path / "missing.tar.gz")})
    with pytest.raises(ValueError, match="cannot load the archive"):
        nlp("Anna visited Paris.")
    with pytest.raises(ValueError, match="no model.tar.gz"):
        nlp.get_pipe("ain_tagger").from_disk(tmp_path)


def test_disk_round_trip_keeps_the_model(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "ain_tagger" / "model.tar.gz").is_file()
    moved = tmp_path / "moved"
    (tmp_path / "pipeline").rename(moved)
    reloaded = spacy.load(moved)
    assert reloaded.pipe_names == ["ain_tagger"]
    assert reloaded.get_pipe("ain_tagger").archive == str(moved / "ain_tagger" / "model.tar.gz")
    for text in TEXTS:
        assert_same_docs(reloaded(text), nlp(text))


def _run_python(script: str, cwd) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter in `cwd`; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_factory_is_exposed_as_a_spacy_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="spacy_factories")}
    assert names.get("ain_tagger") == "allennlp_ain_spacy:make_ain_tagger"


def test_spacy_without_the_component_does_not_import_allennlp(tmp_path):
    # spaCy imports every spacy_factories entry point when it builds a Language: that must not
    # cost every spaCy pipeline an import of AllenNLP (torch is imported by spaCy's thinc anyway)
    script = (
        "import json, sys, spacy\n"
        "nlp = spacy.blank('en')\n"
        "assert 'allennlp_ain_spacy' in sys.modules, 'spaCy did not load the entry point'\n"
        "assert spacy.Language.has_factory('ain_tagger')\n"
        "print(json.dumps(sorted(m for m in ('allennlp', 'allennlp_ain') if m in sys.modules)))\n"
    )
    result = _run_python(script, tmp_path)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_entry_point_is_found_without_importing_the_plugin(trained_archive, tmp_path):
    # a fresh interpreter outside the repository that never imports allennlp_ain itself
    script = (
        "import json, sys, spacy\n"
        "nlp = spacy.blank('en')\n"
        f"nlp.add_pipe('ain_tagger', config={{'archive': {str(trained_archive)!r}}})\n"
        "doc = nlp('Anna visited Paris.')\n"
        "print(json.dumps([[e.text, e.label_] for e in doc.ents]))\n"
    )
    result = _run_python(script, tmp_path)
    entities = json.loads(result.stdout.strip().splitlines()[-1])
    assert ["Anna", "PER"] in entities


@pytest.fixture(scope="module")
def multitask_archive(tmp_path_factory):
    from allennlp.commands.train import train_model
    from allennlp.common import Params

    from tests.helpers import FIXTURES

    run = tmp_path_factory.mktemp("multitask_for_spacy")
    params = Params.from_file(str(FIXTURES / "configs" / "multitask.jsonnet"), ext_vars={"FIXTURES": str(FIXTURES), "ENCODER": "sc_lstm"})
    train_model(params, str(run))
    return run / "model.tar.gz"


def test_a_multitask_archive_writes_each_task_where_spacy_users_look(multitask_archive, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("ain_tagger", config={"archive": str(multitask_archive), "targets": {"pos": "pos", "ner": "spans:ner"}})
    docs = list(nlp.pipe(TEXTS, batch_size=2))
    reference = Predictor.from_path(str(multitask_archive))
    for text, doc in zip(TEXTS, docs):
        if not text.strip():
            continue
        expected = reference.predict_json({"tokens": [t.text for t in doc if not t.is_space]})
        tokens = [t for t in doc if not t.is_space]
        assert [t._.ain_labels["pos"] for t in tokens] == expected["pos"]["tags"]
        assert [t._.ain_labels["ner"] for t in tokens] == expected["ner"]["tags"]
        assert [t.pos_ for t in tokens] == [tag if tag in spacy.parts_of_speech.IDS else "" for tag in expected["pos"]["tags"]]
        assert [(s.label_, s.start, s.end) for s in doc.spans["ner"]] == [
            (s["label"], tokens[s["start"]].i, tokens[s["end"] - 1].i + 1) for s in expected["ner"]["spans"]
        ]
    nlp.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    again = reloaded(TEXTS[0])
    assert [t._.ain_labels for t in again] == [t._.ain_labels for t in docs[0]]


def test_a_multitask_archive_needs_targets_or_a_task(multitask_archive):
    nlp = spacy.blank("en")
    nlp.add_pipe("ain_tagger", config={"archive": str(multitask_archive)})
    with pytest.raises(ValueError, match="several tagging heads"):
        nlp(TEXTS[0])
    single = spacy.blank("en")
    single.add_pipe("ain_tagger", config={"archive": str(multitask_archive), "task": "ner"})
    assert [t._.ain_label for t in single(TEXTS[1])]
    with pytest.raises(ValueError, match="target 'lemma'"):
        spacy.blank("en").add_pipe("ain_tagger", config={"archive": str(multitask_archive), "targets": {"pos": "lemma"}})


def test_a_multilingual_archive_tags_in_the_pipelines_language(multilingual_archive, tmp_path):
    """`nlp.lang` is the language of the docs for a multilingual archive, unless `language` says another."""
    targets = {"ner": "ents", "pos": "tag"}
    reference = Predictor.from_path(str(multilingual_archive))
    text = "Anna fietst naar Gouda ."

    def tagged(nlp, language):
        doc = nlp(text)
        expected = reference.predict_json({"tokens": [t.text for t in doc], "language": language})
        for task in targets:
            assert [t._.ain_labels[task] for t in doc] == expected[task]["tags"]
            assert [t._.ain_confidences[task] for t in doc] == pytest.approx(expected[task]["confidence"], abs=1e-5)
        return [t._.ain_confidences["ner"] for t in doc]

    dutch = spacy.blank("nl")
    dutch.add_pipe("ain_tagger", config={"archive": str(multilingual_archive), "targets": targets})
    english = spacy.blank("en")
    english.add_pipe("ain_tagger", config={"archive": str(multilingual_archive), "targets": targets})
    as_english = spacy.blank("nl")
    as_english.add_pipe("ain_tagger", config={"archive": str(multilingual_archive), "targets": targets, "language": "en"})
    confidence = {"nl": tagged(dutch, "nl"), "en": tagged(english, "en")}
    assert tagged(as_english, "en") == pytest.approx(confidence["en"], abs=1e-6)
    assert confidence["nl"] != pytest.approx(confidence["en"], abs=1e-5)  # the language matters
    as_english.to_disk(tmp_path / "pipeline")  # the setting is saved with the pipeline
    assert spacy.load(tmp_path / "pipeline").get_pipe("ain_tagger").language == "en"

    german = spacy.blank("de")
    german.add_pipe("ain_tagger", config={"archive": str(multilingual_archive), "targets": targets})
    with pytest.raises(ValueError, match=r"knows the languages \['en', 'nl'\], not 'de'.*set `language`"):
        german(text)
    assert list(german.pipe(["", "  "]))  # docs with nothing to tag need no language


def test_zero_shot_tags_a_language_the_archive_does_not_know(multilingual_archive, tmp_path):
    text = "Marie wohnt in Berlin ."
    reference = Predictor.from_path(str(multilingual_archive), zero_shot="en")
    german = spacy.blank("de")
    german.add_pipe("ain_tagger", config={"archive": str(multilingual_archive), "targets": {"ner": "ents"}, "zero_shot": "en"})
    doc = german(text)
    expected = reference.predict_json({"tokens": [t.text for t in doc], "language": "de"})
    assert [t._.ain_labels["ner"] for t in doc] == expected["ner"]["tags"]
    assert [t._.ain_confidences["ner"] for t in doc] == pytest.approx(expected["ner"]["confidence"], abs=1e-5)
    german.to_disk(tmp_path / "pipeline")  # the setting is saved with the pipeline
    assert spacy.load(tmp_path / "pipeline").get_pipe("ain_tagger").zero_shot == "en"
