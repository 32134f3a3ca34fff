"""
`benchmarks/distillation_report.py` reads what a distillation run was (teacher or student, its
languages, target, loss and teachers) from its config, not its name, and scores a student on every
language's test file through its predictor, a language it never saw zero-shot. The results page is
what the ledger renders.
"""
import importlib.util
import json
from pathlib import Path

import pytest
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.common import file_utils

import allennlp_ain  # noqa: F401  (registers the readers and models)

from tests.helpers import CONFIGS, ESP, FIXTURE_NER_LABELS, FIXTURES, GLOVE, NED, ROOT

_spec = importlib.util.spec_from_file_location("distillation_report", ROOT / "benchmarks" / "distillation_report.py")
distillation_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(distillation_report)

LEDGER = ROOT / "docs" / "runs-distillation.csv"
DOC = ROOT / "docs" / "results-distillation.md"
CONLL03 = FIXTURES / "conll" / "conll2003_sample.txt"
# the fixtures as the report's test files (absolute paths: `data / path` is the path itself)
FILES = {"en": ("conll2003", str(CONLL03), str(CONLL03), str(CONLL03)), "es": ("conll2002", str(ESP), str(ESP), str(ESP)),
         "nl": ("conll2002", str(NED), str(NED), str(NED))}


@pytest.fixture(scope="module")
def student_run(union_labels_teacher, tmp_path_factory):
    """`multilingual_ner.jsonnet` on the English and Spanish fixtures, `posterior` KD, Spanish the
    target; a teacher for English only."""
    cache = tmp_path_factory.mktemp("cache")
    ext_vars = {"LANGUAGES": "en,es", "TARGET": "es", "LOSS": "posterior", "CUDA_DEVICE": "-1", "INTERPOLATION": "", "BASE": "",
                "EN_TEACHER": union_labels_teacher, "ES_TEACHER": "", "NL_TEACHER": "",
                "EN_TRAIN": str(CONLL03), "ES_TRAIN": str(ESP), "ES_DEV": str(ESP), "ES_TEST": str(ESP),
                "EN_EMBEDDINGS": str(GLOVE), "ES_EMBEDDINGS": "", "NL_EMBEDDINGS": ""}
    overrides = {"trainer.num_epochs": 2, "data_loader.scheduler.batch_size": 1, "model.encoder.encoder.hidden_size": 4,
                 "vocabulary.tokens_to_add.ner_labels": FIXTURE_NER_LABELS}  # the teacher's (Dutch's too)
    params = Params.from_file(str(CONFIGS / "distillation" / "multilingual_ner.jsonnet"),
                              params_overrides=json.dumps(overrides), ext_vars=ext_vars)
    run = tmp_path_factory.mktemp("runs") / "any_student"
    old, file_utils.CACHE_DIRECTORY = file_utils.CACHE_DIRECTORY, str(cache)
    try:
        train_model(params, str(run))
    finally:
        file_utils.CACHE_DIRECTORY = old
    return run


def test_a_teacher_row_is_its_language_and_allennlps_test_score(union_labels_teacher):
    run = Path(union_labels_teacher).parent
    row = distillation_report.run_values(run, False, ROOT, FILES)
    metrics = json.loads((run / "metrics.json").read_text())
    assert (row["model"], row["languages"], row["target"], row["loss"], row["decoder"]) == ("teacher", "en", "en", "-", "crf")
    assert row["test_en"] == f"{100 * metrics['test_f1-measure-overall']:.2f}" and row["test_es"] == row["test_nl"] == ""
    with pytest.raises(SystemExit, match="not one of the training files"):
        distillation_report.run_values(run, False, ROOT, {"en": ("conll2003", "eng.train", "eng.testa", "eng.testb")})


def test_a_student_is_scored_on_every_language_and_an_unseen_one_zero_shot(student_run, union_labels_teacher):
    calls = []

    def scorer(archive, data, dataset, language, zero_shot=None, task=None):
        calls.append((data, dataset, language, zero_shot, task))
        return distillation_report.zero_shot.score(archive, data, dataset, language, zero_shot, task)

    row = distillation_report.run_values(student_run, False, ROOT, FILES, scorer=scorer)
    teacher = union_labels_teacher.split("/")[-2]
    assert (row["model"], row["languages"], row["target"], row["loss"], row["lambda"], row["teachers"]) == (
        "student", "en+es", "es", "posterior", "max(0, 1 − 0.005·e)", f"en:{teacher}")
    assert row["zero_shot"] == "nl" and row["epochs_run"] == row["epoch_cap"] == "2"
    # each own language's dev and test file; Dutch (unseen, test only) is read by the Spanish
    # dataset's reader, with the Spanish words
    assert calls == [(str(CONLL03), "en_ner", "en", None, "ner")] * 2 + [(str(ESP), "es_ner", "es", None, "ner")] * 2 + [
        (str(NED), "es_ner", "nl", "es", "ner")]
    metrics = json.loads((student_run / "metrics.json").read_text())
    # the target's score through the predictor is the one `allennlp train` measured on its test set
    assert row["test_es"] == f"{100 * metrics['test_ner_f1-measure-overall']:.2f}"
    assert row["dev"] == f"{100 * metrics['best_validation_ner_f1-measure-overall']:.2f}"
    assert all(row[f"test_{language}"] for language in ("en", "es", "nl"))
    # the fixtures' dev files are their test files: the same checkpoint scores them alike
    assert (row["dev_en"], row["dev_es"], row["dev_nl"]) == (row["test_en"], row["test_es"], "")


def _row(run, model, languages, loss, seed, schedule="", dev=None, **tests):
    row = {field: "" for field in distillation_report.FIELDS}
    row.update(run=run, model=model, languages=languages, target=languages.split("+")[0], loss=loss, seed=seed)
    row["lambda"] = schedule
    row.update({f"test_{language}": value for language, value in tests.items()})
    row.update({f"dev_{language}": value for language, value in (dev or {}).items()})
    if model == "student" and loss != "none":
        row["teachers"] = "en:t_en es:t_es"
    return row


def test_the_table_averages_seeds_and_languages_and_compares_with_the_student_without_kd():
    rows = [_row("t_en", "teacher", "en", "-", "1", en="90.00"), _row("t_es", "teacher", "es", "-", "1", es="80.00"),
            _row("a", "student", "en+es", "none", "1", dev={"en": "90.00", "es": "70.00"}, en="89.00", es="79.00", nl="50.00"),
            _row("b", "student", "en+es", "none", "2", dev={"en": "91.00", "es": "72.00"}, en="88.00", es="80.00", nl="52.00"),
            _row("c", "student", "en+es", "posterior", "1", "0.5", dev={"en": "92.00", "es": "71.50"}, en="89.50", es="80.50",
                 nl="51.75"),
            _row("d", "student", "en+es", "posterior", "1", "max(0, 1 − 0.005·e)", dev={"en": "92.00"}, en="87.50", es="80.50",
                 nl="51.00")]
    lines = distillation_report.render_table(rows).splitlines()
    assert lines[2] == "| model | seeds | en | es | nl (zero-shot) | average (en, es) | dev, average (en, es) |"
    assert lines[4] == "| teachers (one per language) | 1 | 90.00 | 80.00 |  | 85.00 |  |"
    assert lines[5] == "| student without KD | 1, 2 | 88.50 | 79.50 | 51.00 | 84.00 | 80.75 |"
    assert lines[6] == "| student, `posterior`, λ = 0.5 | 1 | 89.50 (+1.00) | 80.50 (+1.00) | 51.75 (+0.75) | 85.00 (+1.00) | 81.75 (+1.00) |"
    # a run without the dev F1 of every one of its languages leaves the dev average blank
    assert lines[7] == "| student, `posterior`, λ = max(0, 1 − 0.005·e) | 1 | 87.50 (-1.00) | 80.50 (+1.00) | 51.00 (+0.00) | 84.00 (+0.00) |  |"


def test_the_results_page_is_what_the_ledger_renders():
    text = DOC.read_text(encoding="utf-8")
    assert distillation_report.BLOCK.search(text), "no generated block"
    assert distillation_report.update_doc(text) == text, "run: python benchmarks/distillation_report.py --update-doc " + str(DOC)
    assert distillation_report.read_ledger(LEDGER)


def test_a_fine_tuned_one_language_model_is_a_teacher_row_with_its_base(fine_tuned_teacher):
    base, spanish = map(Path, fine_tuned_teacher)
    row = distillation_report.run_values(spanish.parent, False, ROOT, FILES)
    metrics = json.loads((spanish.parent / "metrics.json").read_text())
    assert (row["model"], row["languages"], row["target"], row["loss"], row["base"], row["decoder"]) == (
        "teacher", "es", "es", "-", base.parent.name, "crf")
    assert row["test_es"] == f"{100 * metrics['test_ner_f1-measure-overall']:.2f}" and row["test_en"] == row["test_nl"] == ""
    # its base, on two languages without KD, is a student
    assert distillation_report.run_values(base.parent, False, ROOT, FILES)["model"] == "student"


def test_each_teacher_set_gets_its_own_table_with_the_student_without_kd():
    rows = [_row("t_en", "teacher", "en", "-", "1", en="90.00"), _row("t_es", "teacher", "es", "-", "1", es="80.00"),
            _row("f_en", "teacher", "en", "-", "1", en="92.00"), _row("f_es", "teacher", "es", "-", "1", es="84.00"),
            _row("a", "student", "en+es", "none", "1", en="89.00", es="79.00"),
            _row("c", "student", "en+es", "posterior", "1", "0.5", en="89.50", es="80.50"),
            _row("d", "student", "en+es", "posterior", "1", "0.5", en="91.00", es="83.00")]
    rows[3]["base"] = rows[2]["base"] = "a"
    rows[-1]["teachers"] = "en:f_en es:f_es"
    tables = distillation_report.render_table(rows).split("\n\n**")
    assert len(tables) == 2
    first, second = (table.splitlines() for table in tables)
    assert first[0].startswith("**Student on en, es, teachers f_en (fine-tuned a), f_es (fine-tuned a)**")
    assert first[4:] == ["| teachers (one per language) | 1 | 92.00 | 84.00 | 88.00 |  |",
                         "| student without KD | 1 | 89.00 | 79.00 | 84.00 |  |",
                         "| student, `posterior`, λ = 0.5 | 1 | 91.00 (+2.00) | 83.00 (+4.00) | 87.00 (+3.00) |  |"]
    assert second[0].startswith("Student on en, es, teachers t_en, t_es**")
    assert second[4:] == ["| teachers (one per language) | 1 | 90.00 | 80.00 | 85.00 |  |",
                          "| student without KD | 1 | 89.00 | 79.00 | 84.00 |  |",
                          "| student, `posterior`, λ = 0.5 | 1 | 89.50 (+0.50) | 80.50 (+1.50) | 85.00 (+1.00) |  |"]
