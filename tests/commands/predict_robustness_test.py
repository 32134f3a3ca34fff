"""`allennlp predict` with the `ain_tagger` predictor on input with bad and blank lines, as a user runs it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allennlp.predictors import Predictor

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
GOOD = [
    '{"sentence": "Maria Lopez flew to Berlin with John Smith ."}',
    '{"tokens": ["Anna", "visited", "Paris", "."], "top_k": 2}',
    '{"sentence": "Tom met Sara in Lisbon."}',
    '{"sentence": "😀 马丽亚 ذهبت ماريا إلى برلين מריה"}',
]
LINES = [
    GOOD[0],
    '{"sentence": "unterminated',  # malformed JSON
    GOOD[1],
    "",  # blank lines: dropped by `allennlp predict`, no output line
    '{"text": "Maria flew."}',  # no "sentence"
    "   ",
    '{"sentence": " \\t "}',  # a blank sentence
    '{"sentence": ["Maria"]}',  # not a string
    GOOD[2],
    '"Maria flew."',  # JSON, not an object
    GOOD[3],
]


def _predict(archive: Path, tmp_path: Path, batch_size: int) -> subprocess.CompletedProcess:
    source = tmp_path / "input.jsonl"
    source.write_text("".join(line + "\n" for line in LINES), encoding="utf-8")
    output = tmp_path / f"out_{batch_size}.jsonl"
    command = [ALLENNLP, "predict", str(archive), str(source), "--predictor", "ain_tagger", "--include-package"]
    command += ["allennlp_ain", "--batch-size", str(batch_size), "--silent", "--output-file", str(output)]
    result = subprocess.run(command, cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def outputs(trained_archive, tmp_path_factory):
    """The output lines and stderr of `allennlp predict` on `LINES`, in batches of 64 and of 1."""
    tmp_path = tmp_path_factory.mktemp("predict_robustness")
    runs = {}
    for batch_size in (64, 1):
        stderr = _predict(trained_archive, tmp_path, batch_size).stderr
        text = (tmp_path / f"out_{batch_size}.jsonl").read_text(encoding="utf-8")
        runs[batch_size] = ([json.loads(line) for line in text.splitlines()], stderr)
    return runs


def test_one_output_line_per_non_blank_input_line_with_errors_in_place(outputs, trained_archive):
    predictions, _ = outputs[64]
    inputs = [line for line in LINES if line.strip()]
    assert len(predictions) == len(inputs)
    reference = Predictor.from_path(str(trained_archive))
    for number, (line, prediction) in enumerate(zip(inputs, predictions), start=1):
        if line in GOOD:
            expected = reference.predict_json(json.loads(line))
            assert prediction["tokens"] == expected["tokens"] and prediction["tags"] == expected["tags"]
            assert len(prediction["tags"]) == len(prediction["tokens"])
        else:
            assert set(prediction) == {"error", "input"} and prediction["input"] == number
            assert prediction["error"].startswith(f"input {number}: ")
            assert line.strip()[:12] in prediction["error"]


def test_batches_give_the_output_of_one_line_at_a_time(outputs):
    batched, alone = outputs[64][0], outputs[1][0]
    assert len(batched) == len(alone)
    for a, b in zip(batched, alone):
        assert_close(a, b)


def assert_close(a, b) -> None:
    """Equal JSON values, floats up to float32 rounding (batches pad sentences to other lengths)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-4)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_close(a[key], b[key])
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y)
    else:
        assert a == b


def test_progress_on_stderr(outputs):
    for batch_size in (64, 1):
        stderr = outputs[batch_size][1]
        assert "ain_tagger: 9 lines" in stderr and "5 bad" in stderr
