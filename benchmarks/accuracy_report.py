"""
Accuracy runs: one markdown row per training run, the run ledger, and the results tables made from it.

    python benchmarks/accuracy_report.py RUN_DIR [RUN_DIR ...] [--evaluate-stopped]
    python benchmarks/accuracy_report.py --ledger docs/runs.csv --append RUN_DIR --config FILE.jsonnet
        [--dataset NAME] [--variant V] [--continued-from RUN] [--paper SCORE] [--evaluate-stopped]
    python benchmarks/accuracy_report.py --ledger docs/runs.csv --tables | --runs
    python benchmarks/accuracy_report.py --update-doc docs/results-accuracy.md [--check]

A `RUN_DIR` is an `allennlp train` serialization directory. When the run finished, the numbers
come from its `metrics.json` (AllenNLP evaluates the best-on-dev weights on `test_data_path`).
A run stopped before its epoch cap has no `metrics.json`; with `--evaluate-stopped` its
`best.th` (the weights of its best dev epoch so far, written by AllenNLP's checkpointer) is
archived to `RUN_DIR/model_best.tar.gz` and scored with `allennlp evaluate` on the config's
`test_data_path`, so the test score is the same quantity in both cases: the test score of the
epoch that dev selects. The test set never selects anything. A run continued with `--recover`
in a copy of a finished run's directory carries that run's `metrics.json` until it finishes in
turn; a `metrics.json` older than the newest `metrics_epoch_N.json` is ignored as stale.

The ledger (`docs/runs.csv`) has one row per run, scores in % with two decimals (see `FIELDS`).
`--append` adds a run directory to it. `--tables` renders one table per encoder with one row per
dataset x decoder (`aggregate` states which runs enter), `--runs` the whole ledger as a table.
`--update-doc` rewrites every block of a markdown file between
`<!-- generated: accuracy_report.py ARGS -->` and `<!-- end generated -->` with what `ARGS` render;
`--check` only reports whether the file is up to date (exit status 1 if not).
"""
import argparse
import csv
import json
import re
import shlex
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

ROOT = Path(__file__).resolve().parents[1]

# The ledger's columns. `encoder` and `decoder` are the configs' ENCODER and DECODER values;
# `variant` names the override of the shipped config the run used ('' for the shipped config);
# `seed` is 'default' (AllenNLP's 13370 / 1337 / 133) or K (all three seeds set to K);
# `continued_from` is the run that `benchmarks/continue_run.py` continued ('' for a fresh run);
# `epochs_run`, `epoch_cap` (`trainer.num_epochs`), `best_epoch` (1-based, the epoch dev selects);
# `dev`, `test`: the dev score of that epoch and its test score; `paper_test`: the paper's test
# score of the cell (encoder x dataset x decoder), '' where the paper has none to compare.
FIELDS = ["run", "encoder", "dataset", "decoder", "config", "variant", "seed", "continued_from",
          "epochs_run", "epoch_cap", "best_epoch", "dev", "test", "paper_test"]
ENCODERS = {"bilstm": "BiLSTM word+char encoder", "cnn": "Word CNN encoder", "word": "Word-only encoder"}
DECODERS = {"maxent": "MaxEnt", "crf": "CRF", "mfvi1": "AIN-1O", "mfvi2": "AIN-F2O"}
_CENT = Decimal("0.01")


# ---------------------------------------------------------------- one run directory


def _metric(config: dict) -> str:
    return config["trainer"]["validation_metric"].lstrip("+-")


def _epochs(run: Path, metric: str):
    rows = []
    for path in run.glob("metrics_epoch_*.json"):
        values = json.loads(path.read_text())
        rows.append((values["epoch"], values.get(f"validation_{metric}")))
    return sorted(rows)


def _last_epoch(run: Path) -> int:
    """The newest epoch with a `metrics_epoch_N.json` (from the file names), or -1."""
    return max((int(path.stem.rsplit("_", 1)[1]) for path in run.glob("metrics_epoch_*.json")), default=-1)


def run_values(run: Path, evaluate_stopped: bool) -> Optional[dict]:
    """`epochs_run`, `epoch_cap`, `stopped`, `best_epoch` (0-based), `dev`, `test` (fractions, test
    None when unknown) of a run directory, or None when no epoch finished."""
    config = json.loads((run / "config.json").read_text())
    metric = _metric(config)
    cap = config["trainer"]["num_epochs"]
    finished = run / "metrics.json"
    values = json.loads(finished.read_text()) if finished.exists() else None
    if values is not None and _last_epoch(run) > values["epoch"]:
        values = None  # left by the run this one continues
    if values is not None:
        return {
            "epochs_run": values["epoch"] + 1, "epoch_cap": cap, "stopped": False,
            "best_epoch": values["best_epoch"], "dev": values[f"best_validation_{metric}"],
            "test": values.get(f"test_{metric}"),
        }
    epochs = _epochs(run, metric)
    scored = [(score, epoch) for epoch, score in epochs if score is not None]
    if not scored:
        return None
    dev, best_epoch = max(scored, key=lambda pair: (pair[0], -pair[1]))
    test = _evaluate_best(run, config, metric) if evaluate_stopped else None
    return {"epochs_run": len(epochs), "epoch_cap": cap, "stopped": True, "best_epoch": best_epoch, "dev": dev, "test": test}


def report(run: Path, evaluate_stopped: bool) -> str:
    values = run_values(run, evaluate_stopped)
    if values is None:
        return f"| {run.name} | no epoch finished | | | |"
    status = f"{values['epochs_run']} ({values['epoch_cap']})" + (", stopped" if values["stopped"] else "")
    test_text = "n/a" if values["test"] is None else f"**{100 * values['test']:.2f}**"
    return f"| {run.name} | {status} | {values['best_epoch'] + 1} | {100 * values['dev']:.2f} | {test_text} |"


def _evaluate_best(run: Path, config: dict, metric: str):
    return evaluate_best(run, config)[metric]


def evaluate_best(run: Path, config: dict) -> dict:
    """Archive a run's `best.th` to `RUN_DIR/model_best.tar.gz` and return what `allennlp evaluate`
    gives on the config's `test_data_path` (a path, or a dict of paths for a multi-task run)."""
    from allennlp.models.archival import archive_model

    archive = run / "model_best.tar.gz"
    archive_model(run, weights="best.th", archive_path=archive)
    output = run / "test_metrics_best.json"
    test = config["test_data_path"]
    command = [
        sys.executable, "-m", "allennlp", "evaluate", str(archive), test if isinstance(test, str) else json.dumps(test),
        "--include-package", "allennlp_ain", "--output-file", str(output),
        "--file-friendly-logging",
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(output.read_text())


# ---------------------------------------------------------------- the ledger


def read_ledger(path: Path, fields: List[str] = FIELDS) -> List[Dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != fields:
            raise ValueError(f"{path}: columns {reader.fieldnames}, expected {fields}")
        return list(reader)


def write_ledger(path: Path, rows: List[Dict[str, str]], fields: List[str] = FIELDS) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _encoder_of(model: dict) -> str:
    kind = model["encoder"]["type"]
    names = {"lstm": "bilstm", "ain_cnn": "cnn", "pass_through": "word"}
    if kind not in names:
        raise SystemExit(f"unknown encoder type {kind!r}")
    return names[kind]


def decoder_label(decoder: dict) -> str:
    """A decoder's name in the ledgers: its type, with the order for AIN (`mfvi1`, `mfvi2`)."""
    return f"mfvi{decoder.get('order', 1)}" if decoder["type"] == "mfvi" else decoder["type"]


def decoders_label(heads: Iterable[dict]) -> str:
    """The decoders of several heads, each named once, `/`-joined in sorted order."""
    return "/".join(sorted({decoder_label(head["decoder"]) for head in heads}))


def _decoder_of(model: dict) -> str:
    decoder = model.get("decoder") or model.get("head", {}).get("decoder")
    if decoder is None:
        raise SystemExit("no decoder in the run's config.json")
    return decoder_label(decoder)


def seed_label(config: dict) -> str:
    """A run's seeds in the ledgers: `default` (AllenNLP's), the one seed, or the three `/`-joined."""
    seeds = {config.get(key) for key in ("random_seed", "numpy_seed", "pytorch_seed")}
    if seeds == {None}:
        return "default"
    if len(seeds) == 1:
        return str(seeds.pop())
    return "/".join(str(config.get(key)) for key in ("random_seed", "numpy_seed", "pytorch_seed"))


def ledger_row(run: Path, config_file: str, dataset: str, variant: str = "", continued_from: str = "",
               paper_test: str = "", evaluate_stopped: bool = False) -> Dict[str, str]:
    """The ledger row of a run directory; its scores are those `report` prints."""
    values = run_values(run, evaluate_stopped)
    if values is None or values["test"] is None:
        raise SystemExit(f"{run}: no test score (no epoch finished, or stopped: use --evaluate-stopped)")
    config = json.loads((run / "config.json").read_text())
    return {
        "run": run.name, "encoder": _encoder_of(config["model"]), "dataset": dataset,
        "decoder": _decoder_of(config["model"]), "config": config_file, "variant": variant,
        "seed": seed_label(config), "continued_from": continued_from,
        "epochs_run": str(values["epochs_run"]), "epoch_cap": str(values["epoch_cap"]),
        "best_epoch": str(values["best_epoch"] + 1), "dev": f"{100 * values['dev']:.2f}",
        "test": f"{100 * values['test']:.2f}", "paper_test": paper_test,
    }


def append(ledger: Path, run: Path, config_file: str, dataset: Optional[str] = None, variant: str = "",
           continued_from: str = "", paper_test: Optional[str] = None, evaluate_stopped: bool = False) -> dict:
    rows = read_ledger(ledger)
    if any(row["run"] == run.name for row in rows):
        raise SystemExit(f"{run.name} is in {ledger} already")
    if dataset is None:
        known = {row["dataset"] for row in rows if row["config"] == config_file}
        if len(known) != 1:
            raise SystemExit(f"--dataset is needed: the ledger has {sorted(known) or 'no'} datasets for {config_file}")
        dataset = known.pop()
    row = ledger_row(run, config_file, dataset, variant, continued_from, "", evaluate_stopped)
    if paper_test is None:  # the paper's number of the same cell, if the ledger has it
        cell = [r["paper_test"] for r in rows if (r["encoder"], r["dataset"], r["decoder"]) == (row["encoder"], dataset, row["decoder"])]
        paper_test = cell[0] if cell else ""
    row["paper_test"] = paper_test
    write_ledger(ledger, rows + [row])
    return row


# ---------------------------------------------------------------- aggregation and tables


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _sd(values: List[Decimal]) -> Decimal:
    """The sample standard deviation (n - 1)."""
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)).sqrt()


def _order(rows: List[Dict[str, str]]):
    datasets = list(dict.fromkeys(row["dataset"] for row in rows))
    encoders = list(ENCODERS) + sorted({row["encoder"] for row in rows} - set(ENCODERS))
    decoders = list(DECODERS) + sorted({row["decoder"] for row in rows} - set(DECODERS))
    return lambda row: (encoders.index(row["encoder"]), datasets.index(row["dataset"]), decoders.index(row["decoder"]))


def aggregate(rows: List[Dict[str, str]]) -> List[dict]:
    """One result per encoder x dataset x decoder: the runs of the shipped config (`variant` '')
    with a test score at the largest `epoch_cap` any of them has, one run per seed (a seed twice at
    that cap is an error). `test` and `dev` are their means, `sd` the sample standard deviation of
    test (None for one seed), all rounded half up to 0.01; `delta` is the rounded `test` minus the
    paper's score."""
    cells: Dict[tuple, List[dict]] = {}
    for row in sorted(rows, key=_order(rows)):
        key = (row["encoder"], row["dataset"], row["decoder"])
        cells.setdefault(key, [])
        if row["variant"] == "" and row["test"] != "":
            cells[key].append(row)
    results = []
    for (encoder, dataset, decoder), shipped in cells.items():
        if not shipped:
            continue
        cap = max(int(row["epoch_cap"]) for row in shipped)
        runs = [row for row in shipped if int(row["epoch_cap"]) == cap]
        seeds = [row["seed"] for row in runs]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{encoder} {dataset} {decoder}: two shipped-config runs of one seed at cap {cap}: "
                             + ", ".join(row["run"] for row in runs))
        papers = {row["paper_test"] for row in runs}
        if len(papers) != 1:
            raise ValueError(f"{encoder} {dataset} {decoder}: the runs disagree on the paper's score: {sorted(papers)}")
        paper = papers.pop()
        tests = [Decimal(row["test"]) for row in runs]
        test = _round(sum(tests) / len(tests))
        results.append({
            "encoder": encoder, "dataset": dataset, "decoder": decoder, "epoch_cap": cap,
            "runs": [row["run"] for row in runs], "seeds": len(runs),
            "test": test, "sd": _round(_sd(tests)) if len(tests) > 1 else None,
            "dev": _round(sum(Decimal(row["dev"]) for row in runs) / len(runs)),
            "paper": Decimal(paper) if paper else None,
            "delta": test - Decimal(paper) if paper else None,
        })
    return results


def _signed(value: Optional[Decimal]) -> str:
    return "" if value is None else f"{value:+.2f}"


def render_tables(rows: List[Dict[str, str]]) -> str:
    lines = []
    results = aggregate(rows)
    for encoder in dict.fromkeys(result["encoder"] for result in results):
        if lines:
            lines.append("")
        lines += [f"### {ENCODERS.get(encoder, encoder)}", "",
                  "| dataset | decoder | **test** | seeds | dev | epoch cap | paper test | test − paper | runs |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in (result for result in results if result["encoder"] == encoder):
            test = f"**{r['test']}**" + (f" ± {r['sd']}" if r["sd"] is not None else "")
            runs = ", ".join(f"`{run}`" for run in r["runs"])
            paper = "" if r["paper"] is None else str(r["paper"])
            lines.append(f"| {r['dataset']} | {DECODERS.get(r['decoder'], r['decoder'])} | {test} | {r['seeds']} "
                         f"| {r['dev']} | {r['epoch_cap']} | {paper} | {_signed(r['delta'])} | {runs} |")
    return "\n".join(lines) + "\n"


def render_runs(rows: List[Dict[str, str]]) -> str:
    lines = ["| run | encoder | dataset | decoder | variant | seed | continued from | epochs run (cap) | best epoch "
             "| dev | test | paper test | test − paper |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=_order(rows)):
        delta = _signed(Decimal(row["test"]) - Decimal(row["paper_test"])) if row["test"] and row["paper_test"] else ""
        continued = f"`{row['continued_from']}`" if row["continued_from"] else ""
        lines.append(
            f"| `{row['run']}` | {row['encoder']} | {row['dataset']} | {DECODERS.get(row['decoder'], row['decoder'])} "
            f"| {row['variant']} | {row['seed']} | {continued} | {row['epochs_run'] or 'n/a'} ({row['epoch_cap']}) "
            f"| {row['best_epoch'] or 'n/a'} | {row['dev']} | {row['test'] or 'n/a'} | {row['paper_test']} | {delta} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- generated blocks of a document

def block_pattern(script: str) -> "re.Pattern[str]":
    """A generated block of a markdown file: `<!-- generated: SCRIPT ARGS -->`, its body, and
    `<!-- end generated -->`; groups 1 and 4 are the markers, `args` and `body` what is between."""
    return re.compile(rf"(<!-- generated: {re.escape(script)} (?P<args>[^\n]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


BLOCK = block_pattern("accuracy_report.py")


def render_table_or_runs(
    args: str, root: Path, read: Callable[[Path], list], table: Callable, runs: Callable, table_flag: str = "--table"
) -> str:
    """What a generated-block marker `--ledger PATH --table|--runs` of a report script renders:
    `table(rows)` or `runs(rows)` of the ledger `read(root / PATH)` (`table_flag` names the first)."""
    parser = argparse.ArgumentParser(prog="generated block", add_help=False)
    parser.add_argument("--ledger", type=Path, required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(table_flag, dest="table", action="store_true")
    group.add_argument("--runs", action="store_true")
    parsed = parser.parse_args(shlex.split(args))
    rows = read(root / parsed.ledger)
    return table(rows) if parsed.table else runs(rows)


def generated_blocks(text: str):
    """`(args, body)` of every generated block of a markdown text."""
    return [(match.group("args"), match.group("body")) for match in BLOCK.finditer(text)]


def doc_renderers(
    pattern: "re.Pattern[str]", read: Callable[[Path], list], table: Callable, runs: Callable, table_flag: str = "--table"
):
    """`render_block(args, root)` and `update_doc(text, root)` of a report script whose generated
    blocks (`pattern`, from `block_pattern`) say `--ledger PATH --table|--runs` (PATH relative to
    the repository root; `table_flag` names the first)."""

    def render_block(args: str, root: Path = ROOT) -> str:
        return render_table_or_runs(args, root, read, table, runs, table_flag)

    def update_doc(text: str, root: Path = ROOT) -> str:
        return pattern.sub(lambda m: m.group(1) + render_block(m.group("args"), root) + m.group(4), text)

    return render_block, update_doc


render_block, update_doc = doc_renderers(BLOCK, read_ledger, render_tables, render_runs, table_flag="--tables")


def update_doc_file(path: Path, update: Callable[[str], str], check: bool) -> None:
    """`--update-doc PATH [--check]` of a report script: rewrite the file's generated blocks with
    `update(text)`, or with `check` only say whether it is up to date (exit status 1 if not)."""
    text = path.read_text(encoding="utf-8")
    new = update(text)
    if check:
        print(f"{path}: " + ("up to date" if new == text else "out of date"))
        sys.exit(0 if new == text else 1)
    path.write_text(new, encoding="utf-8")


def append_runs(
    ledger: Path, runs: List[Path], row_of: Callable[[Path], Dict[str, str]], fields: List[str], replace: bool = False,
    prefix: str = "",
) -> None:
    """`--ledger L --append RUN_DIR ... [--replace] [--prefix P]` of a report script: one row per
    run (`row_of`), named `prefix` + the directory's name, printed as it comes and added to the
    ledger; a run already in it is an error, or with `replace` its row is made anew in its place.
    The ledger is written after each run."""
    rows = read_ledger(ledger, fields) if ledger.exists() else []
    for run in runs:
        name = prefix + run.name
        places = [i for i, row in enumerate(rows) if row["run"] == name]
        if places and not replace:
            raise SystemExit(f"{name} is in {ledger} already (--replace makes its row anew)")
        row = dict(row_of(run), run=name)
        if places:
            rows[places[0]] = row
        else:
            rows.append(row)
        print(",".join(row[field] for field in fields), flush=True)
        write_ledger(ledger, rows, fields)


# ---------------------------------------------------------------- command line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run directories: one markdown row each")
    parser.add_argument("--evaluate-stopped", action="store_true")
    parser.add_argument("--ledger", type=Path, help="the run ledger (docs/runs.csv)")
    parser.add_argument("--tables", action="store_true", help="print one table per encoder from the ledger")
    parser.add_argument("--runs", dest="runs_table", action="store_true", help="print the ledger as a table")
    parser.add_argument("--append", type=Path, metavar="RUN_DIR", help="add a run directory to the ledger")
    parser.add_argument("--config", help="with --append: the training config, e.g. conll03_ner.jsonnet")
    parser.add_argument("--dataset", help="with --append: the dataset's name in the ledger")
    parser.add_argument("--variant", default="", help="with --append: the override of the shipped config, if any")
    parser.add_argument("--continued-from", default="", help="with --append: the run continue_run.py continued")
    parser.add_argument("--paper", help="with --append: the paper's test score (default: the ledger's for the cell)")
    parser.add_argument("--update-doc", type=Path, metavar="MARKDOWN", help="regenerate the file's generated blocks")
    parser.add_argument("--check", action="store_true", help="with --update-doc: only check, exit 1 if out of date")
    args = parser.parse_args()

    if args.update_doc:
        update_doc_file(args.update_doc, update_doc, args.check)
        return
    if args.ledger:
        if args.append:
            if not args.config:
                parser.error("--append needs --config")
            row = append(args.ledger, args.append, args.config, args.dataset, args.variant,
                         args.continued_from, args.paper, args.evaluate_stopped)
            print(",".join(row[field] for field in FIELDS))
            return
        if args.tables == args.runs_table:
            parser.error("--ledger needs one of --tables, --runs, --append")
        rows = read_ledger(args.ledger)
        print(render_tables(rows) if args.tables else render_runs(rows), end="")
        return
    if not args.runs:
        parser.error("give run directories, or --ledger, or --update-doc")
    print("| run | epochs run (cap) | best epoch | dev | test |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        print(report(run, args.evaluate_stopped), flush=True)


if __name__ == "__main__":
    main()
