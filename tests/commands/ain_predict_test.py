"""
`allennlp ain-predict`: output line k answers input line k, blank lines included (each gets the
error object `{"error": "input k: blank line", "input": k}`), for batches of 1 and more, from a
file or stdin, with `--silent` or printing, as a user runs it from the repository root.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.predictors import Predictor

from allennlp_ain.commands.ain_predict import AinPredict
from tests.commands.predict_robustness_test import GOOD, assert_close
from tests.helpers import ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
LINES = [
    "",  # blank lines: at the start, alone, in runs, of spaces and tabs, and at the end
    GOOD[0],
    '{"sentence": "unterminated',
    "   ",
    "",
    GOOD[1],
    "\t",
    '{"text": "Maria flew."}',
    GOOD[2],
    "",
    GOOD[3],
    "  ",
]
BLANK = {k for k, line in enumerate(LINES, start=1) if not line.strip()}
BAD = {LINES.index('{"sentence": "unterminated') + 1, LINES.index('{"text": "Maria flew."}') + 1}


def _ain_predict(archive: Path, tmp_path: Path, batch_size: int, silent: bool, stdin: bool) -> tuple:
    source = tmp_path / "input.jsonl"
    source.write_text("".join(line + "\n" for line in LINES), encoding="utf-8")
    output = tmp_path / f"out_{batch_size}_{silent}_{stdin}.jsonl"
    command = [ALLENNLP, "ain-predict", str(archive), "-" if stdin else str(source), "--batch-size", str(batch_size),
               "--output-file", str(output)] + (["--silent"] if silent else [])
    # from the repository root: .allennlp_plugins makes AllenNLP import the plugin, and so know the subcommand,
    # before it parses the command line
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                            text=True, timeout=300, input=source.read_text(encoding="utf-8") if stdin else None)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()], result


@pytest.fixture(scope="module")
def runs(trained_archive, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ain_predict")
    return {
        (batch_size, silent, stdin): _ain_predict(trained_archive, tmp_path, batch_size, silent, stdin)
        for batch_size, silent, stdin in [(1, True, False), (64, True, False), (3, False, True)]
    }


def test_output_line_k_answers_input_line_k(runs, trained_archive):
    reference = Predictor.from_path(str(trained_archive))
    for key, (outputs, _) in runs.items():
        assert len(outputs) == len(LINES), key
        for number, (line, output) in enumerate(zip(LINES, outputs), start=1):
            if number in BLANK:
                assert output == {"error": f"input {number}: blank line", "input": number}, key
            elif number in BAD:
                assert set(output) == {"error", "input"} and output["input"] == number, key
                assert output["error"].startswith(f"input {number}: ") and line[:12] in output["error"], key
            else:
                expected = reference.predict_json(json.loads(line))
                assert output["tokens"] == expected["tokens"] and output["tags"] == expected["tags"], key


def test_every_batch_size_and_source_gives_the_same_output(runs):
    alone = runs[1, True, False][0]
    for outputs, _ in runs.values():
        assert_close(outputs, alone)


def test_printed_predictions_are_aligned_and_silent_prints_nothing(runs):
    printed = runs[3, False, True][1].stdout
    prefix = "prediction: "
    predictions = [json.loads(line[len(prefix):]) for line in printed.splitlines() if line.startswith(prefix)]
    assert_close(predictions, runs[3, False, True][0])
    silent = runs[1, True, False][1]
    assert silent.stdout == "" and " INFO " not in silent.stderr


def test_refuses_a_predictor_that_cannot_answer_blank_lines(trained_archive, tmp_path):
    parser = argparse.ArgumentParser()
    AinPredict().add_subparser(parser.add_subparsers())
    source = tmp_path / "in.jsonl"
    source.write_text('{"sentence": "Maria flew ."}\n')
    args = parser.parse_args(["ain-predict", str(trained_archive), str(source), "--predictor", "text_classifier",
                              "--output-file", str(tmp_path / "out.jsonl")])
    with pytest.raises(ConfigurationError, match="only the ain_tagger predictor"):
        args.func(args)
