"""
Structure-level distillation runs (issue 17, experiments 1 and 2): a run ledger and the tables
made from it.

    python benchmarks/distillation_report.py --ledger docs/runs-distillation.csv --append RUN_DIR ... [--replace] [--evaluate-stopped] [--data DIR]
    python benchmarks/distillation_report.py --ledger docs/runs-distillation.csv --table | --runs
    python benchmarks/distillation_report.py --update-doc docs/results-distillation.md [--check]

A `RUN_DIR` is an `allennlp train` serialization directory (`benchmarks/distillation_runs.sh`
makes them) of a teacher (an `ain_tagger` of `conll03_ner.jsonnet` or `conll02_ner.jsonnet`) or of
a student (`training_configs/distillation/multilingual_ner.jsonnet`). Everything in a row is read
from the run's `config.json`, not its name:
- a teacher's language is the one whose training file its `train_data_path` names, its test F1
  the one AllenNLP measured at the epoch its dev F1 selected;
- a student's languages are its datasets', its target the mixing scheduler's `target` (whose dev
  F1 selects the epoch), its loss the `ner` head's `distillation` (`none` without), its teachers
  the `ain_distillation` callback's archives (named by their run directories). Each language's
  test file is tagged by the student's predictor (`benchmarks/zero_shot.py`); a language the
  student never saw is read zero-shot, with the words of a known language of the same corpus.

A student's row also holds its dev F1 on each of its own languages (`dev_<language>`), from the
same checkpoint (the epoch its target's dev F1 selected): the average over its languages is what
to choose a multilingual setting by, as the test average is what the table reports.

`--table` renders one table per set of student languages: the teachers, then a row per loss and
λ schedule, a column per language (mean over seeds), the average over the student's own
languages, for each KD row its difference to the student without KD, and the mean over seeds of
the average dev F1. The dev and test files are `--data`'s (default `../shared/data`, see `FILES`).
"""
import argparse
import json
import sys
import tarfile
from decimal import Decimal
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import accuracy_report  # noqa: E402  (ledger files, rounding, stopped runs, generated blocks)
import zero_shot  # noqa: E402  (a student's score on a language's test file)

LANGUAGES = ["en", "es", "nl"]
FIELDS = ["run", "model", "languages", "target", "loss", "lambda", "teachers", "base", "decoder", "seed", "epochs_run", "epoch_cap",
          "best_epoch", "dev"] + [f"test_{language}" for language in LANGUAGES] + ["zero_shot"] + [f"dev_{language}" for language in LANGUAGES]
LOSSES = ["none", "emission", "top_k", "top_wk", "posterior", "posterior+top_wk"]
# language -> (corpus, training file, dev file, test file) under --data
FILES = {
    "en": ("conll2003", "conll2003_en/eng.train", "conll2003_en/eng.testa", "conll2003_en/eng.testb"),
    "es": ("conll2002", "conll2002/esp.train", "conll2002/esp.testa", "conll2002/esp.testb"),
    "nl": ("conll2002", "conll2002/ned.train", "conll2002/ned.testa", "conll2002/ned.testb"),
}
Files = Dict[str, Tuple[str, str, str, str]]
Scorer = Callable[..., dict]


def _schedule(head: dict, callback: dict) -> str:
    """λ of the KD term: `max(0, λ₀ − a·e)` with the callback's annealing, else the head's fixed λ."""
    if "distillation" not in head:
        return ""
    start = head["distillation"].get("interpolation", 1.0)
    annealing = callback.get("annealing")
    return f"{start:g}" if annealing is None else f"max(0, {start:g} − {annealing:g}·e)"


def _archive(run: Path, stopped: bool) -> Path:
    """The archive of the run's best epoch: `model.tar.gz`, or for a stopped run `best.th` archived."""
    if not stopped:
        return run / "model.tar.gz"
    from allennlp.models.archival import archive_model

    archive = run / "model_best.tar.gz"
    archive_model(run, weights="best.th", archive_path=archive)
    return archive


def _language_of_file(path: str, files: Files) -> str:
    names = {Path(train).name: language for language, (_, train, _, _) in files.items()}
    name = Path(path).name
    if name not in names:
        raise SystemExit(f"a teacher trained on {path}: not one of the training files {sorted(names)}")
    return names[name]


def _scored(values: Optional[dict], run: Path, evaluate_stopped: bool) -> dict:
    if values is None:
        raise SystemExit(f"{run}: no epoch finished")
    if values["stopped"] and not evaluate_stopped:
        raise SystemExit(f"{run}: stopped before its cap; --evaluate-stopped scores its best epoch on test")
    return values


def run_values(run: Path, evaluate_stopped: bool, data: Path, files: Files = FILES, scorer: Optional[Scorer] = None) -> Dict[str, str]:
    """The ledger row of a run directory (a teacher or a student; see the module docstring)."""
    config = json.loads((run / "config.json").read_text())
    values = _scored(accuracy_report.run_values(run, evaluate_stopped and config["model"]["type"] == "ain_tagger"), run,
                     evaluate_stopped)
    row = {field: "" for field in FIELDS}
    row.update(run=run.name, seed=accuracy_report.seed_label(config), epochs_run=str(values["epochs_run"]), epoch_cap=str(values["epoch_cap"]),
               best_epoch=str(values["best_epoch"] + 1), dev=f"{100 * values['dev']:.2f}")
    if config["model"]["type"] == "ain_tagger":
        language = _language_of_file(config["train_data_path"], files)
        row.update(model="teacher", languages=language, target=language, loss="-", decoder=accuracy_report.decoders_label([config["model"]]))
        row[f"test_{language}"] = f"{100 * values['test']:.2f}"
        return row
    readers = config["dataset_reader"]["readers"]
    languages = sorted({reader["language"] for reader in readers.values()})
    target = readers[config["data_loader"]["scheduler"]["target"]]["language"]
    callback = next((c for c in config["trainer"].get("callbacks", []) if c.get("type") == "ain_distillation"), {})
    model = config["model"]
    if model["type"] == "from_archive":  # a model fine-tuned from another run's archive
        base = Path(model["archive_file"])
        row["base"] = base.parent.name
        with tarfile.open(base) as archive:
            model = json.loads(archive.extractfile("config.json").read())["model"]
    head = model["heads"]["ner"]
    if len(languages) == 1 and not callback:  # a one-language model without KD: a teacher
        row.update(model="teacher", languages=target, target=target, loss="-", decoder=accuracy_report.decoders_label(model["heads"].values()))
        row[f"test_{target}"] = f"{100 * values['test']:.2f}"
        return row
    teachers = callback.get("teachers", {})
    if isinstance(teachers, str):
        teachers = {language: teachers for language in languages}
    row.update(model="student", languages="+".join(languages), target=target,
               loss=head.get("distillation", {}).get("loss", "none"), **{"lambda": _schedule(head, callback)},
               teachers=" ".join(f"{language}:{Path(archive).parent.name}" for language, archive in sorted(teachers.items())),
               decoder=accuracy_report.decoders_label(model["heads"].values()))
    scorer = scorer or zero_shot.score
    archive = str(_archive(run, values["stopped"]))
    unseen = []
    for language, (corpus, _, dev, test) in files.items():
        if language in languages:
            reader_language, words_of = language, None
        else:
            known = [known for known in languages if files[known][0] == corpus]
            if not known:
                continue  # no known language reads this corpus's format
            reader_language, words_of = known[0], known[0]
            unseen.append(language)
        dataset = next(name for name, reader in readers.items() if reader["language"] == reader_language)

        def f1(path: str) -> str:
            return f"{100 * scorer(archive, str(data / path), dataset, language, zero_shot=words_of, task='ner')['f1']:.2f}"

        if language in languages:
            # its dev F1 too, at the checkpoint the target's dev selected: the multilingual
            # figure to choose settings by is the average over the student's languages
            row[f"dev_{language}"] = f1(dev)
        row[f"test_{language}"] = f1(test)
    row["zero_shot"] = "+".join(unseen)
    return row


# ---------------------------------------------------------------- the ledger and its tables


def read_ledger(path: Path) -> List[Dict[str, str]]:
    return accuracy_report.read_ledger(path, FIELDS)


def _mean(values: List[Decimal]) -> Optional[Decimal]:
    return accuracy_report._round(sum(values) / len(values)) if values else None


def _cell(rows: List[Dict[str, str]], language: str) -> Optional[Decimal]:
    return _mean([Decimal(row[f"test_{language}"]) for row in rows if row[f"test_{language}"]])


def render_table(rows: List[Dict[str, str]]) -> str:
    by_run = {row["run"]: row for row in rows}
    students = [row for row in rows if row["model"] == "student"]
    lines: List[str] = []
    # one table per set of student languages and set of teachers; the students without KD (no
    # teachers) are the baseline of every table of their languages
    groups = {(row["languages"], row["teachers"]) for row in students if row["teachers"]}
    groups |= {(row["languages"], "") for row in students if not any(g == row["languages"] for g, _ in groups)}
    for group, teacher_set in sorted(groups, key=lambda g: (-len(g[0]), g[0], g[1])):
        members = [row for row in students if row["languages"] == group and row["teachers"] in ("", teacher_set)]
        own = group.split("+")
        scored = [l for l in LANGUAGES if any(row[f"test_{l}"] for row in members)]
        unseen = [l for l in scored if l not in own]
        targets = sorted({row["target"] for row in members})
        header = [f"{l} (zero-shot)" if l in unseen else l for l in scored]
        if lines:
            lines.append("")
        taught_by = "" if not teacher_set else ", teachers " + ", ".join(
            f"{name.split(':', 1)[1]}" + (f" (fine-tuned {by_run[name.split(':', 1)[1]]['base']})"
                                           if by_run.get(name.split(":", 1)[1], {}).get("base") else "")
            for name in teacher_set.split())
        lines += [f"**Student on {', '.join(own)}{taught_by}** (the epoch selected on {'/'.join(targets)} dev; test F1, "
                  "mean over seeds; in brackets the difference to the student without KD; the last column the dev F1 "
                  "of the same checkpoints, averaged over the student's languages)", "",
                  "| model | seeds | " + " | ".join(header) + f" | average ({', '.join(own)}) | dev, average ({', '.join(own)}) |",
                  "|---|---|" + "---|" * (len(scored) + 2)]
        teacher_runs = sorted({name.split(":", 1)[1] for name in teacher_set.split()})
        teachers = [by_run[name] for name in teacher_runs if name in by_run]
        if teachers:
            values = {l: _cell([t for t in teachers if t["languages"] == l], l) for l in scored}
            known = [values[l] for l in own if values.get(l) is not None]
            average = _mean(known) if len(known) == len(own) else None
            lines.append("| teachers (one per language) | " + ", ".join(sorted({t["seed"] for t in teachers})) + " | "
                         + " | ".join("" if values[l] is None else str(values[l]) for l in scored)
                         + f" | {'' if average is None else average} |  |")
        baseline: Dict[str, Optional[Decimal]] = {}
        kinds = sorted({(row["loss"], row["lambda"]) for row in members},
                       key=lambda k: (LOSSES.index(k[0]) if k[0] in LOSSES else len(LOSSES), k[1]))
        for loss, schedule in kinds:
            runs = [row for row in members if (row["loss"], row["lambda"]) == (loss, schedule)]
            values = {l: _cell(runs, l) for l in scored}
            values["average"] = _mean([values[l] for l in own]) if all(values[l] is not None for l in own) else None
            dev = [[Decimal(row[f"dev_{l}"]) for l in own if row[f"dev_{l}"]] for row in runs]
            values["dev"] = _mean([sum(d) / len(own) for d in dev]) if all(len(d) == len(own) for d in dev) else None
            if loss == "none":
                baseline = values

            def text(key: str) -> str:
                value = values[key]
                if value is None:
                    return ""
                if loss == "none" or baseline.get(key) is None:
                    return str(value)
                return f"{value} ({value - baseline[key]:+.2f})"

            name = "student without KD" if loss == "none" else f"student, `{loss}`, λ = {schedule}"
            lines.append(f"| {name} | {', '.join(sorted(row['seed'] for row in runs))} | "
                         + " | ".join(text(l) for l in scored) + f" | {text('average')} | {text('dev')} |")
    return "\n".join(lines) + "\n"


def render_runs(rows: List[Dict[str, str]]) -> str:
    columns = ["run", "model", "languages", "target", "loss", "lambda", "teachers", "base", "decoder", "seed"]
    lines = ["| " + " | ".join(columns) + " | epochs run (cap) | best epoch | dev F1 | "
             + " | ".join(f"test {l}" for l in LANGUAGES) + " | zero-shot | " + " | ".join(f"dev {l}" for l in LANGUAGES) + " |",
             "|" + "---|" * (len(columns) + 4 + 2 * len(LANGUAGES))]
    for row in sorted(rows, key=lambda r: (r["model"] != "teacher", r["languages"], r["loss"], r["seed"], r["run"])):
        lines.append("| `" + row["run"] + "` | " + " | ".join(row[c] for c in columns[1:])
                     + f" | {row['epochs_run']} ({row['epoch_cap']}) | {row['best_epoch']} | {row['dev']} | "
                     + " | ".join(row[f"test_{l}"] for l in LANGUAGES) + f" | {row['zero_shot']} | "
                     + " | ".join(row[f"dev_{l}"] for l in LANGUAGES) + " |")
    return "\n".join(lines) + "\n"


BLOCK = accuracy_report.block_pattern("distillation_report.py")
render_block, update_doc = accuracy_report.doc_renderers(BLOCK, read_ledger, render_table, render_runs)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--ledger", type=Path)
    parser.add_argument("--append", type=Path, nargs="+", metavar="RUN_DIR")
    parser.add_argument("--replace", action="store_true", help="make the rows of runs already in the ledger anew")
    parser.add_argument("--evaluate-stopped", action="store_true")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--runs", action="store_true")
    parser.add_argument("--update-doc", type=Path, metavar="MARKDOWN")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.update_doc:
        accuracy_report.update_doc_file(args.update_doc, update_doc, args.check)
        return
    if not args.ledger:
        parser.error("give --ledger or --update-doc")
    if args.append:
        accuracy_report.append_runs(args.ledger, args.append, lambda run: run_values(run, args.evaluate_stopped, args.data), FIELDS,
                                    args.replace)
        return
    rows = read_ledger(args.ledger) if args.ledger.exists() else []
    if args.table == args.runs:
        parser.error("--ledger needs one of --append, --table, --runs")
    print(render_table(rows) if args.table else render_runs(rows), end="")


if __name__ == "__main__":
    main()
