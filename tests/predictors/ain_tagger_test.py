import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allennlp.commands.predict import _PredictManager
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from allennlp_ain.modules.decoders import MaxEnt
from allennlp_ain.predictors.ain_tagger import AinTaggerPredictor
from allennlp_ain.tag_schemes import extract_spans

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
SENTENCE = "Maria Lopez flew to  Berlin with John Smith ."
INPUTS = [
    {"sentence": SENTENCE},
    {"tokens": ["Anna", "visited", "Paris", "with", "Peter", "Brown", "."]},
    {"sentence": "Tom met Sara in Lisbon."},
    {"sentence": "Rain"},
    {"tokens": ["The", "Acme", "Corporation", "opened", "an", "office", "in", "Nairobi", "."], "top_k": 3},
]


@pytest.fixture(scope="module")
def predictor(trained_archive) -> AinTaggerPredictor:
    predictor = Predictor.from_path(trained_archive)
    assert isinstance(predictor, AinTaggerPredictor)
    return predictor


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key == "confidence":
            # float32: the BiLSTM's products block differently for a batch and for one sentence
            # (1.5e-5 apart with 1 thread on the fixture model)
            assert a[key] == pytest.approx(b[key], abs=1e-4)
        elif key == "top_k":
            assert [p["tags"] for p in a[key]] == [p["tags"] for p in b[key]]
            assert [p["score"] for p in a[key]] == pytest.approx([p["score"] for p in b[key]], abs=1e-4)
        else:
            assert a[key] == b[key], key


def test_raw_text_gives_tokens_tags_confidence_and_character_spans(predictor):
    result = predictor.predict_json({"sentence": SENTENCE})
    assert result["tokens"] == ["Maria", "Lopez", "flew", "to", "Berlin", "with", "John", "Smith", "."]
    assert len(result["tags"]) == len(result["tokens"]) == len(result["confidence"])
    assert all(0.0 <= c <= 1.0 + 1e-4 for c in result["confidence"])
    # the model learnt its training sentences: it finds people and places here
    assert {span["label"] for span in result["spans"]} >= {"PER", "LOC"}
    assert [(s["label"], s["start"], s["end"]) for s in result["spans"]] == extract_spans(result["tags"], "BIOES")
    for span in result["spans"]:
        assert SENTENCE[span["start_char"] : span["end_char"]] == span["text"]
        assert SENTENCE[span["start_char"] :].startswith(result["tokens"][span["start"]])
        assert SENTENCE[: span["end_char"]].endswith(result["tokens"][span["end"] - 1])
    berlin = next(s for s in result["spans"] if s["text"] == "Berlin")
    assert (berlin["start"], berlin["end"], berlin["start_char"], berlin["end_char"]) == (4, 5, 21, 27)


def test_pre_tokenised_input_is_tagged_as_given(predictor):
    tokens = ["Anna", "visited", "Paris", "with", "Peter", "Brown", "."]
    result = predictor.predict_json({"tokens": tokens, "id": "ignored"})
    assert result["tokens"] == tokens
    assert len(result["tags"]) == len(tokens)
    for span in result["spans"]:
        assert set(span) == {"label", "start", "end"}  # no characters without text


def test_batch_equals_one_at_a_time(predictor):
    single = [predictor.predict_json(inputs) for inputs in INPUTS]
    for result, reference in zip(predictor.predict_batch_json(INPUTS), single):
        assert_same(result, reference)


def test_top_k_paths_from_the_crf(predictor):
    result = predictor.predict_json({"sentence": SENTENCE, "top_k": 3})
    paths = result["top_k"]
    assert len(paths) == 3
    assert paths[0]["tags"] == result["tags"]
    assert len({tuple(p["tags"]) for p in paths}) == 3
    scores = [p["score"] for p in paths]
    assert scores == sorted(scores, reverse=True)
    assert all(p["log_probability"] <= 1e-4 for p in paths)
    assert "top_k" not in predictor.predict_json({"sentence": SENTENCE})
    # a one-token sentence has fewer distinct paths than k: only the real ones are listed
    labels = predictor._model.vocab.get_vocab_size("labels")
    assert len(predictor.predict_json({"tokens": ["Rain"], "top_k": labels + 5})["top_k"]) <= labels


def test_top_k_as_predictor_argument(trained_archive):
    predictor = Predictor.from_archive(load_archive(trained_archive), "ain_tagger", extra_args={"top_k": 2})
    result = predictor.predict_json({"sentence": SENTENCE})
    assert len(result["top_k"]) == 2
    assert "top_k" not in predictor.predict_json({"sentence": SENTENCE, "top_k": 0})


def test_top_k_needs_a_decoder_with_k_best_paths(predictor):
    head = predictor._model.head
    crf = head.decoder
    head.decoder = MaxEnt(head.num_labels)
    try:
        assert "tags" in predictor.predict_json({"sentence": SENTENCE})
        with pytest.raises(ValueError, match="MaxEnt decoder has no k-best decoding"):
            predictor.predict_json({"sentence": SENTENCE, "top_k": 2})
    finally:
        head.decoder = crf


def test_top_k_per_call_writes_no_model_state(trained_archive):
    archive = load_archive(trained_archive)
    predictor = Predictor.from_archive(archive, "ain_tagger")
    model = archive.model

    def state():
        return {k: v for k, v in vars(model).items() if not k.startswith("_")}, {
            k: v for k, v in vars(model.head).items() if not k.startswith("_")
        }

    before = state()
    assert len(predictor.predict_json({"sentence": SENTENCE, "top_k": 3})["top_k"]) == 3
    assert state() == before and model.default_top_k == 0
    assert "top_k" not in predictor.predict_json({"sentence": SENTENCE})


def test_the_predictor_picks_a_head(trained_archive):
    archive = load_archive(trained_archive)
    assert Predictor.from_archive(archive, "ain_tagger", extra_args={"task": "tags"})._heads == {"tags": archive.model.head}
    with pytest.raises(ValueError, match="No head 'ner'"):
        Predictor.from_archive(archive, "ain_tagger", extra_args={"task": "ner"})


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"sentence": ""}, "sentence is empty or blank"),
        ({"sentence": "   \n "}, "sentence is empty or blank"),
        ({"tokens": []}, "token list is empty"),
        ({"text": "Maria flew."}, "Expected exactly one of"),
        ({"sentence": "a", "tokens": ["a"]}, "Expected exactly one of"),
        ({"sentence": 3}, '"sentence" must be a string'),
        ({"tokens": "Maria flew"}, '"tokens" must be a list'),
        ({"tokens": ["Maria", None]}, "Token 1 must be a non-blank string"),
        ({"tokens": ["Maria", " "]}, "Token 1 must be a non-blank string"),
        ({"sentence": "a", "top_k": -1}, "must be an integer >= 0"),
        ({"sentence": "a", "top_k": "3"}, "must be an integer >= 0"),
    ],
)
def test_bad_input_gives_a_clear_error(predictor, inputs, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict_json(inputs)
    with pytest.raises(ValueError, match=message):
        predictor.predict_batch_json([{"sentence": "fine"}, inputs])


BAD_LINES = [
    ('{"sentence": "Maria flew"', "Malformed JSON"),
    ("Maria flew", 'Malformed JSON (Expecting value, column 1) in input line \'Maria flew\'; each line is one JSON object, e.g. {"sentence": '),
    ('["a"]', "Expected one JSON object per line, got list"),
    ("null", "Expected one JSON object per line, got NoneType"),
    ('{"text": "Maria flew."}', "Expected exactly one of"),
    ('{"sentence": ""}', "sentence is empty or blank"),
    ('{"sentence": " \\t "}', "sentence is empty or blank"),
    ('{"sentence": 3}', '"sentence" must be a string'),
    ('{"tokens": ["Maria", null]}', "Token 1 must be a non-blank string"),
    ('{"sentence": "Maria flew", "top_k": -2}', "must be an integer >= 0"),
]


@pytest.mark.parametrize("line, message", BAD_LINES)
def test_a_bad_line_gives_an_error_object_numbered_by_its_input(trained_archive, line, message):
    predictor = Predictor.from_path(trained_archive)
    assert predictor.load_line('{"sentence": "Maria flew"}\n') == {"sentence": "Maria flew"}
    loaded = predictor.load_line(line + "\n")  # the second line this predictor reads
    assert set(loaded) == {"error", "input"} and loaded["input"] == 2
    assert loaded["error"].startswith("input 2: ") and message in loaded["error"]
    assert line.strip()[:10] in loaded["error"]
    # the error object goes through prediction in the place of an output, alone or in a batch
    assert predictor.predict_json(loaded) == loaded
    good = predictor.load_line('{"sentence": "Maria flew"}\n')
    batch = predictor.predict_batch_json([good, loaded, good])
    assert batch[1] == loaded
    for output in (batch[0], batch[2]):
        assert_same(output, predictor.predict_json({"sentence": "Maria flew"}))
    assert json.loads(predictor.dump_line(loaded)) == loaded


def test_a_blank_line_given_to_the_predictor_is_an_error_object(predictor):
    # `allennlp predict` drops blank lines before the predictor sees them; another driver may not
    loaded = predictor.load_line("  \t \n")
    assert loaded["error"] == f"input {loaded['input']}: blank line"


def test_a_json_object_that_says_error_is_still_an_input(predictor):
    # only lines the predictor itself found bad pass through; a caller's dict is checked as before
    with pytest.raises(ValueError, match="Expected exactly one of"):
        predictor.predict_json({"error": "input 1: blank line", "input": 1})


def _predict_cli(archive: Path, lines, tmp_path: Path, batch_size: int) -> subprocess.CompletedProcess:
    source = tmp_path / "input.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    command = [ALLENNLP, "predict", str(archive), str(source), "--include-package", "allennlp_ain"]
    command += ["--batch-size", str(batch_size), "--silent", "--output-file", str(tmp_path / "out.jsonl")]
    return subprocess.run(command, cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=300)


def test_command_line_with_batches_equals_one_at_a_time(predictor, trained_archive, tmp_path):
    lines = [json.dumps(inputs) for inputs in INPUTS]
    lines.insert(2, "")  # blank lines are skipped
    result = _predict_cli(trained_archive, lines, tmp_path, batch_size=3)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(outputs) == len(INPUTS)
    for output, inputs in zip(outputs, INPUTS):
        assert_same(output, predictor.predict_json(inputs))


def _predict_in_process(predictor, lines, tmp_path: Path, batch_size: int) -> list:
    """The machinery of `allennlp predict`, in-process (the test above runs the real command)."""
    source = tmp_path / "input.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output = tmp_path / f"out_{batch_size}.jsonl"
    _PredictManager(predictor, str(source), str(output), batch_size, False, False).run()
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_predict_command_writes_an_error_object_in_place_of_each_bad_line(trained_archive, tmp_path, batch_size):
    reference = Predictor.from_path(trained_archive)
    good = [json.dumps(inputs) for inputs in INPUTS]
    lines = [good[0], BAD_LINES[0][0], good[1], good[2], BAD_LINES[5][0], BAD_LINES[7][0]]
    lines += [good[3], BAD_LINES[2][0], BAD_LINES[4][0], good[4], BAD_LINES[9][0]]
    outputs = _predict_in_process(Predictor.from_path(trained_archive), lines, tmp_path, batch_size)
    assert len(outputs) == len(lines)
    for number, (line, output) in enumerate(zip(lines, outputs), start=1):
        if line in good:
            assert_same(output, reference.predict_json(json.loads(line)))
        else:
            message = dict(BAD_LINES)[line]
            assert output == {"error": output["error"], "input": number}
            assert output["error"].startswith(f"input {number}: ") and message in output["error"]


def test_predict_command_output_is_the_same_for_every_batch_size(trained_archive, tmp_path):
    lines = [json.dumps(inputs) for inputs in INPUTS] + [line for line, _ in BAD_LINES]
    lines = [lines[i] for i in (0, 5, 6, 1, 7, 2, 8, 9, 3, 10, 11, 4, 12, 13, 14)]
    results = [_predict_in_process(Predictor.from_path(trained_archive), lines, tmp_path, b) for b in (1, 3, 64)]
    assert len(results[0]) == len(lines)
    for batched in results[1:]:
        for output, alone in zip(batched, results[0]):
            assert_same(output, alone)


def test_predict_command_drops_blank_lines_and_numbers_the_others(trained_archive, tmp_path):
    # blank lines never reach the predictor (`allennlp predict` skips them): no output line, no number
    lines = [json.dumps(INPUTS[0]), "", "   ", BAD_LINES[0][0], json.dumps(INPUTS[1])]
    outputs = _predict_in_process(Predictor.from_path(trained_archive), lines, tmp_path, 4)
    assert len(outputs) == 3 and outputs[1]["input"] == 2 and outputs[1]["error"].startswith("input 2: ")
    assert outputs[2]["tokens"] == INPUTS[1]["tokens"]


def test_predict_command_shows_progress(trained_archive, tmp_path, capsys):
    # the final count is shown when the bar closes, at exit (tests/commands/predict_robustness_test.py)
    lines = [json.dumps(INPUTS[i % len(INPUTS)]) for i in range(12)] + [BAD_LINES[0][0]]
    _predict_in_process(Predictor.from_path(trained_archive), lines, tmp_path, 4)
    assert "ain_tagger: 0 lines" in capsys.readouterr().err


def test_predictor_used_from_python_shows_no_progress(trained_archive, capsys):
    predictor = Predictor.from_path(trained_archive)
    predictor.predict_batch_json(INPUTS)
    predictor.dump_line(predictor.predict_json(INPUTS[0]))
    assert "ain_tagger" not in capsys.readouterr().err


HOSTILE = {
    "emoji": "Maria 😀 flew to Berlin 🇩🇪 with John 👨‍👩‍👧 .",
    "cjk": "マリアは東京に行きました。 张伟 去了 北京 。 서울에 갔다",
    "arabic": "ذهبت ماريا إلى برلين مع جون .",
    "hebrew": "מריה טסה לברלין עם ג׳ון .",
    "mixed": "Maria (מריה) met 张伟 in Berlin‏ — 😀",
    "combining": "Zoe\u0301 visited Ko\u0308ln , e\u0301 \u200b .",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_emoji_cjk_and_right_to_left_text(predictor, name):
    sentence = HOSTILE[name]
    result = predictor.predict_json({"sentence": sentence})
    assert result["tokens"] and len(result["tags"]) == len(result["tokens"]) == len(result["confidence"])
    for span in result["spans"]:
        assert sentence[span["start_char"] : span["end_char"]] == span["text"]
    assert json.loads(predictor.dump_line(result)) == result
    tokens = predictor.predict_json({"tokens": result["tokens"]})
    assert tokens["tags"] == result["tags"]


def test_a_ten_thousand_word_sentence(predictor):
    words = (SENTENCE.split() + ["😀", "北京", "برلين"]) * 1000
    assert len(words) == 12000
    result = predictor.predict_json({"sentence": " ".join(words)})
    assert result["tokens"] == words and len(result["tags"]) == len(words) == len(result["confidence"])
    batch = predictor.predict_batch_json([{"tokens": words[:7]}, {"tokens": words}])
    assert batch[1]["tags"] == result["tags"] and len(batch[0]["tags"]) == 7


def test_marginals_per_call_and_as_predictor_argument(trained_archive):
    archive = load_archive(trained_archive)
    predictor = Predictor.from_archive(archive, "ain_tagger")
    assert "marginals" not in predictor.predict_json({"sentence": SENTENCE})
    result = predictor.predict_json({"sentence": SENTENCE, "marginals": True})
    labels = set(archive.model.vocab.get_token_to_index_vocabulary("labels"))
    assert len(result["marginals"]) == len(result["tokens"])
    for distribution, tag, confidence in zip(result["marginals"], result["tags"], result["confidence"]):
        assert set(distribution) == labels
        assert sum(distribution.values()) == pytest.approx(1.0, abs=1e-4)  # float32
        assert all(0.0 <= p <= 1.0 for p in distribution.values())  # clamped: float32 rounding can pass 1
        assert distribution[tag] == confidence  # the confidence is the tag's marginal
    with pytest.raises(ValueError, match="marginals in .* must be true or false"):
        predictor.predict_json({"sentence": SENTENCE, "marginals": "yes"})
    always = Predictor.from_archive(archive, "ain_tagger", extra_args={"marginals": True})
    batch = always.predict_batch_json([{"sentence": SENTENCE}, {"tokens": ["Anna"], "marginals": False}])
    assert "marginals" not in batch[1]
    # the same up to float32 rounding, which padding to another length changes (up to 8e-6 seen)
    for batched, alone in zip(batch[0]["marginals"], result["marginals"]):
        assert batched.keys() == alone.keys() and list(batched.values()) == pytest.approx(list(alone.values()), abs=5e-5)


def test_only_a_line_that_is_not_json_at_all_gets_the_format_hint(trained_archive):
    predictor = Predictor.from_path(trained_archive)
    truncated = predictor.load_line('{"sentence": "Maria flew"\n')["error"]
    plain = predictor.load_line("Maria flew to Berlin.\n")["error"]
    assert "Malformed JSON" in truncated and "each line is one JSON object" not in truncated
    assert plain.endswith('each line is one JSON object, e.g. {"sentence": "John lives in Paris."}')
