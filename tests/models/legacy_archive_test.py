"""
Archives trained by release 0.1.0 (commit 855b80e, before the tagging head) still load, with no
missing or unexpected weights, and predict the same tags, confidences and k best paths as they did
then (`fixtures/archives/`, built by `fixtures/archives/build_legacy.py` at that commit).
"""
import json

import pytest
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from allennlp_ain.models import AinTagger
from tests.helpers import FIXTURES

ARCHIVES = FIXTURES / "archives"
EXPECTED = json.loads((ARCHIVES / "expected_predictions.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_archive_of_release_0_1_predicts_the_same(name):
    archive = load_archive(str(ARCHIVES / f"{name}.tar.gz"))  # raises on missing or unexpected weights
    assert isinstance(archive.model, AinTagger)
    expected = EXPECTED[name]
    predictor = Predictor.from_archive(archive, "ain_tagger")
    instances = list(archive.dataset_reader.read(str(FIXTURES / expected["data"])))
    outputs = predictor.predict_batch_instance(instances)
    assert [output["tags"] for output in outputs] == expected["tags"]
    for output, confidence in zip(outputs, expected.get("confidence", [])):
        assert output["confidence"] == pytest.approx(confidence, abs=1e-5)
    for output, top_k in zip(outputs, expected.get("top_k", [])):
        result = predictor.predict_json({"tokens": output["tokens"], "top_k": 3})["top_k"]
        assert [path["tags"] for path in result] == [path["tags"] for path in top_k]
        assert [path["log_probability"] for path in result] == pytest.approx(
            [path["log_probability"] for path in top_k], abs=1e-4
        )


def test_the_old_weight_names_are_mapped_onto_the_head():
    archive = load_archive(str(ARCHIVES / "crf_ner.tar.gz"))
    names = set(archive.model.state_dict())
    assert {"head.projection.weight", "head.decoder.transitions", "head.feedforward._linear_layers.0.weight"} <= names
    assert not any(name.startswith(("tag_projection_layer", "decoder.", "feedforward.")) for name in names)
    assert archive.model.head.decoder.constrained and archive.model.head.label_encoding == "BIOES"
