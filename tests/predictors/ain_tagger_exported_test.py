"""The `ain_tagger` predictor and the spaCy component on an exported (ONNX) tagger give what they give on PyTorch."""
import pytest
import spacy
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from allennlp_ain.export import export_archive
from tests.export.archives import build_archive
from tests.predictors.ain_tagger_test import INPUTS, SENTENCE, assert_same

TEXTS = ["Maria Lopez flew to Berlin with John Smith.", "", "Tom met Sara in  Lisbon.", "Rain", "😀 Zürich"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`(archive, exported folder)` of an untrained BiLSTM + AIN-F2O NER tagger."""
    folder = tmp_path_factory.mktemp("exported")
    archive = build_archive(folder / "run", "bilstm", "mfvi2")
    return archive, export_archive(archive, folder / "exported", progress=lambda line: None)


def test_the_predictor_gives_the_same_output_on_the_exported_graph(exported):
    archive, folder = exported
    inputs = [{k: v for k, v in i.items() if k != "top_k"} for i in INPUTS] + [{"sentence": SENTENCE, "marginals": True}]
    pytorch = Predictor.from_path(str(archive), "ain_tagger")
    onnx = Predictor.from_archive(load_archive(str(archive)), "ain_tagger", extra_args={"exported": str(folder)})
    for ours, theirs in zip(onnx.predict_batch_json(inputs), pytorch.predict_batch_json(inputs)):
        marginals = ours.pop("marginals", None), theirs.pop("marginals", None)
        assert_same(ours, theirs)
        if marginals[0] is not None:
            for a, b in zip(*marginals):
                assert list(a) == list(b) and list(a.values()) == pytest.approx(list(b.values()), abs=1e-4)
    assert_same(onnx.predict_json(inputs[0]), pytorch.predict_json(inputs[0]))
    with pytest.raises(ValueError, match="no k-best decoding"):
        onnx.predict_json({"sentence": SENTENCE, "top_k": 2})


def test_the_predictor_refuses_the_export_of_another_model(exported, tmp_path):
    archive, _ = exported
    other = export_archive(build_archive(tmp_path / "ud", "word", "maxent"), tmp_path / "other", progress=lambda line: None)
    (other / "tagger.json").write_text((other / "tagger.json").read_text().replace('"O"', '"OTHER"', 1))
    with pytest.raises(ValueError, match="other labels than this model"):
        Predictor.from_archive(load_archive(str(archive)), "ain_tagger", extra_args={"exported": str(other)})


def annotations(doc):
    return [(e.start, e.end, e.label_) for e in doc.ents], [(t.tag_, t._.ain_label) for t in doc], [t._.ain_confidence for t in doc]


def test_the_spacy_component_gives_the_same_annotations_on_the_exported_graph(exported, tmp_path):
    archive, folder = exported
    on_torch = spacy.blank("en")
    on_torch.add_pipe("ain_tagger", config={"archive": str(archive)})
    on_onnx = spacy.blank("en")
    on_onnx.add_pipe("ain_tagger", config={"exported": str(folder)})
    on_onnx.to_disk(tmp_path / "pipeline")
    reloaded = spacy.load(tmp_path / "pipeline")
    assert reloaded.get_pipe("ain_tagger").exported == str(tmp_path / "pipeline" / "ain_tagger" / "exported")
    for pipeline in (on_onnx, reloaded):
        for ours, theirs in zip(pipeline.pipe(TEXTS, batch_size=2), on_torch.pipe(TEXTS, batch_size=2)):
            (ents, tags, confidence), (ents_t, tags_t, confidence_t) = annotations(ours), annotations(theirs)
            assert (ents, tags) == (ents_t, tags_t)
            assert [c is None for c in confidence] == [c is None for c in confidence_t]
            assert [c for c in confidence if c is not None] == pytest.approx([c for c in confidence_t if c is not None], abs=1e-4)


def test_the_spacy_component_takes_exactly_one_model(exported):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="exactly one of them"):
        nlp.add_pipe("ain_tagger", config={"archive": str(exported[0]), "exported": str(exported[1])})
