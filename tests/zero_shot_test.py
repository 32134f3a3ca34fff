"""
`benchmarks/zero_shot.py`: a multilingual archive's span F1 on a file through its predictor. On
a language the model knows it equals what `allennlp evaluate` reports for that dataset; an unseen
language is scored only when zero-shot is asked for.
"""
import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import MULTILINGUAL_DATA, ROOT

_spec = importlib.util.spec_from_file_location("zero_shot", ROOT / "benchmarks" / "zero_shot.py")
zero_shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zero_shot)
DUTCH = str(MULTILINGUAL_DATA["dutch_ner.jsonnet"]["NL_NER_TEST"])


def test_a_known_language_scores_as_allennlp_evaluate(multilingual_archive, tmp_path):
    result = zero_shot.main([str(multilingual_archive), DUTCH, "--dataset", "nl_ner", "--language", "nl", "--task", "ner"])
    assert not result["zero_shot"] and result["sentences"] > 0
    output = tmp_path / "metrics.json"
    subprocess.run(
        [sys.executable, "-m", "allennlp", "evaluate", str(multilingual_archive), json.dumps({"nl_ner": DUTCH}),
         "--include-package", "allennlp_ain", "--output-file", str(output)],
        check=True, capture_output=True,
    )
    metrics = json.loads(output.read_text())
    assert result["f1"] == pytest.approx(metrics["ner_f1-measure-overall"], abs=1e-9)
    assert result["accuracy"] == pytest.approx(metrics["ner_accuracy"], abs=1e-9)


def test_an_unseen_language_needs_zero_shot(multilingual_archive, tmp_path):
    with pytest.raises(SystemExit, match=r"knows the languages \['en', 'nl'\], not 'de'.*--zero-shot"):
        zero_shot.main([str(multilingual_archive), DUTCH, "--dataset", "nl_ner", "--language", "de", "--task", "ner"])
    out = tmp_path / "zero_shot.json"
    result = zero_shot.main([str(multilingual_archive), DUTCH, "--dataset", "nl_ner", "--language", "de",
                             "--zero-shot", "nl", "--task", "ner", "--output-json", str(out)])
    assert result["zero_shot"] and result["words_of"] == "nl" and 0.0 <= result["f1"] <= 1.0
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    with pytest.raises(SystemExit, match="name the task to score with --task"):
        zero_shot.main([str(multilingual_archive), DUTCH, "--dataset", "nl_ner", "--language", "nl"])
