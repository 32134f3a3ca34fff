"""
Multi-task accuracy runs (the SC-LSTM paper's Table 3): a run ledger and the table made from it.

    python benchmarks/multitask_report.py --ledger docs/runs-multitask.csv --append RUN_DIR [--evaluate-stopped] [--prefix P]
    python benchmarks/multitask_report.py --ledger docs/runs-multitask.csv --table | --runs
    python benchmarks/multitask_report.py --update-doc docs/results-multitask.md [--check]

A `RUN_DIR` is an `allennlp train` serialization directory of
`training_configs/multitask/sclstm_pos_chunk_ner.jsonnet` (`benchmarks/table3_runs.sh` makes
them). Dev selects the epoch: the one with the largest sum of the tasks' validation metrics (what
the config's list of `validation_metric`s makes AllenNLP keep), and its test scores are reported.
A finished run's numbers come from its `metrics.json`; a run stopped before its cap has none, and
with `--evaluate-stopped` its `best.th` is archived to `RUN_DIR/model_best.tar.gz` and scored with
`allennlp evaluate` on the config's `test_data_path`, the same quantity.

The ledger has one row per run: the model (`single`, `lstm_s`, `lstm_d`, `sc_lstm`, each with
`_cnn` when a character CNN joins the words), its tasks,
the setting (`hidden` per direction, `batch` size), the seed, the epochs, and dev / test per task
in % (POS: accuracy; chunking and NER: span F1). `--table` renders Table 3 once per setting
(hidden size, batch size, epoch cap, decoder; in the ledger's order): one row per model with the
mean over seeds (± the sample standard deviation) of each task's test score, the single-task row
made of the single-task runs of each task. Settings that differ only in the epoch cap (a grid
continued with `benchmarks/continue_run.py`) get the table at the largest cap and one line per cap
with the SC-LSTM's seed means, the best baseline's and the margin.
"""
import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import accuracy_report  # noqa: E402  (the ledger files, rounding and scoring of stopped runs)

TASKS = ["pos", "chunk", "ner"]
FIELDS = ["run", "model", "tasks", "decoder", "hidden", "batch", "seed", "epochs_run", "epoch_cap", "best_epoch"] + [
    f"{task}_{split}" for task in TASKS for split in ("dev", "test")
]
BASE_MODELS = {"single": "single task", "lstm_s": "LSTM-s", "lstm_d": "LSTM-d", "sc_lstm": "SC-LSTM"}
# the same with a character CNN beside the words (ENCODER=<model>_cnn): the paper's "-CNN" models
MODELS = {**BASE_MODELS, **{f"{model}_cnn": f"{name}-CNN" for model, name in BASE_MODELS.items()}}
# Lu et al., Table 3 (GloVe 100d + capitalisation, hidden 300, 3 layers, batch 10): POS / chunk / NER;
# their SC-LSTM-CNN row has CRF heads
PAPER = {
    "single": (95.46, 94.44, 89.39),
    "lstm_s": (95.45, 95.12, 89.35),
    "lstm_d": (95.44, 95.24, 89.37),
    "sc_lstm": (95.51, 96.04, 89.96),
    "sc_lstm_cnn": (95.83, 96.41, 91.37),
}


# ---------------------------------------------------------------- one run directory


def _metrics(config: dict) -> Dict[str, str]:
    """Each task's validation metric name (`pos_accuracy`, `ner_f1-measure-overall`, ...)."""
    names = config["trainer"]["validation_metric"]
    names = [names] if isinstance(names, str) else names
    return {name.lstrip("+-").split("_", 1)[0]: name.lstrip("+-") for name in names}


def _model(config: dict) -> str:
    encoder = config["model"]["encoder"]
    kind = {"ain_sc_lstm": "sc_lstm", "ain_shared": "lstm_s", "ain_layer_per_task": "lstm_d"}[encoder["type"]]
    kind = "single" if kind == "lstm_s" and len(encoder["tasks"]) == 1 else kind
    chars = "token_characters" in config["model"]["text_field_embedder"]["token_embedders"]
    return kind + ("_cnn" if chars else "")


def _hidden(config: dict) -> int:
    encoder = config["model"]["encoder"]
    return encoder["encoder"]["hidden_size"] if encoder["type"] == "ain_shared" else encoder["hidden_size"]


def run_values(run: Path, evaluate_stopped: bool) -> Dict[str, str]:
    """The ledger row of a run directory."""
    config = json.loads((run / "config.json").read_text())
    metrics = _metrics(config)
    epochs = {}
    for path in run.glob("metrics_epoch_*.json"):
        values = json.loads(path.read_text())
        epochs[values["epoch"]] = values
    if not epochs:
        raise SystemExit(f"{run}: no epoch finished")
    final = run / "metrics.json"
    finished = final.exists() and json.loads(final.read_text())["epoch"] >= max(epochs)
    if finished:
        values = json.loads(final.read_text())
        best = values["best_epoch"]
        test = {task: values[f"test_{name}"] for task, name in metrics.items()}
    else:
        best = max(epochs, key=lambda e: (sum(epochs[e][f"validation_{name}"] for name in metrics.values()), -e))
        if not evaluate_stopped:
            raise SystemExit(f"{run}: stopped before its cap; --evaluate-stopped scores its best epoch on test")
        values = accuracy_report.evaluate_best(run, config)
        test = {task: values[name] for task, name in metrics.items()}
    row = {
        "run": run.name, "model": _model(config), "tasks": ",".join(metrics), "decoder": accuracy_report.decoders_label(config["model"]["heads"].values()),
        "hidden": str(_hidden(config)), "batch": str(config["data_loader"]["scheduler"]["batch_size"]),
        "seed": accuracy_report.seed_label(config), "epochs_run": str(len(epochs)), "epoch_cap": str(config["trainer"]["num_epochs"]),
        "best_epoch": str(best + 1),
    }
    for task in TASKS:
        row[f"{task}_dev"] = f"{100 * epochs[best][f'validation_{metrics[task]}']:.2f}" if task in metrics else ""
        row[f"{task}_test"] = f"{100 * test[task]:.2f}" if task in metrics else ""
    return row


# ---------------------------------------------------------------- the ledger and the table


def read_ledger(path: Path) -> List[Dict[str, str]]:
    return accuracy_report.read_ledger(path, FIELDS)


def write_ledger(path: Path, rows: List[Dict[str, str]]) -> None:
    accuracy_report.write_ledger(path, rows, FIELDS)


def _cell(values: List[Decimal]) -> Optional[dict]:
    if not values:
        return None
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)).sqrt() if len(values) > 1 else None
    return {"mean": accuracy_report._round(mean), "sd": None if sd is None else accuracy_report._round(sd), "n": len(values)}


SETTING = ("hidden", "batch", "epoch_cap", "decoder")


def _setting(row: Dict[str, str]) -> tuple:
    return tuple(row[field] for field in SETTING)


def settings(rows: List[Dict[str, str]]) -> List[tuple]:
    """The settings (`SETTING`'s fields) of the ledger's runs, in the order they first appear."""
    return list(dict.fromkeys(map(_setting, rows)))


def table_cells(rows: List[Dict[str, str]]) -> Dict[str, Dict[str, dict]]:
    """model -> task -> mean/sd/n of the test scores of `rows` (runs of one setting)."""
    found = settings(rows)
    if len(found) > 1:
        raise ValueError(f"runs of several settings in one table: {found}")
    cells = {}
    for model in MODELS:
        cells[model] = {}
        for task in TASKS:
            runs = [row for row in rows if row["model"] == model and row[f"{task}_test"]]
            seeds = [row["seed"] for row in runs]
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"{model} {task}: two runs of one seed: {', '.join(row['run'] for row in runs)}")
            cells[model][task] = _cell([Decimal(row[f"{task}_test"]) for row in runs])
    return cells


def _render_setting(rows: List[Dict[str, str]]) -> List[str]:
    cells = table_cells(rows)
    lines = ["| model | POS accuracy | chunking F1 | NER F1 | seeds | paper (POS / chunk / NER) |", "|---|---|---|---|---|---|"]
    for model, name in MODELS.items():
        texts, seeds = [], set()
        for task in TASKS:
            cell = cells[model][task]
            if cell is None:
                texts.append("")
                continue
            texts.append(f"**{cell['mean']}**" + (f" ± {cell['sd']}" if cell["sd"] is not None else ""))
            seeds.add(cell["n"])
        if any(texts):
            paper = " / ".join(f"{value:.2f}" for value in PAPER[model]) if model in PAPER else ""
            lines.append(f"| {name} | {' | '.join(texts)} | {'/'.join(map(str, sorted(seeds)))} | {paper} |")
    # the paper's claim: SC-LSTM at least as good as every baseline on every task (seed means),
    # each against the baselines with the same words (with or without characters)
    for suffix in ("", "_cnn"):
        versus = _versus_best(cells, suffix)
        if versus is None:
            continue
        texts = [f"{margin:+.2f}" if margin is not None else "" for _, _, margin in versus]
        paper = "+0.05 / +0.80 / +0.57" if not suffix else ""
        lines.append(f"| {MODELS['sc_lstm' + suffix]} − best baseline | {' | '.join(texts)} | | {paper} |")
    return lines


def _versus_best(cells: Dict[str, Dict[str, dict]], suffix: str) -> Optional[List[tuple]]:
    """Per task, (SC-LSTM's cell, (mean, model) of the best baseline with the same words, SC-LSTM's
    mean minus that baseline's), each part None where missing; None when there is no SC-LSTM run."""
    if all(cells["sc_lstm" + suffix][task] is None for task in TASKS):
        return None
    versus = []
    for task in TASKS:
        ours = cells["sc_lstm" + suffix][task]
        found = [(cells[m + suffix][task]["mean"], m + suffix) for m in ("single", "lstm_s", "lstm_d")
                 if cells[m + suffix][task] is not None]
        best = max(found, key=lambda mean_and_model: mean_and_model[0]) if found else None
        versus.append((ours, best, ours["mean"] - best[0] if ours is not None and best is not None else None))
    return versus


def _render_by_cap(rows: List[Dict[str, str]], caps: List[str]) -> List[str]:
    """One line per epoch cap of one setting: SC-LSTM, the best baseline and the margin per task."""
    lines = ["| epoch cap | model | POS accuracy | chunking F1 | NER F1 |", "|---|---|---|---|---|"]
    for cap in caps:
        cells = table_cells([row for row in rows if row["epoch_cap"] == cap])
        for suffix in ("", "_cnn"):
            versus = _versus_best(cells, suffix)
            if versus is None:
                continue
            name = MODELS["sc_lstm" + suffix]
            lines.append(f"| {cap} | {name} | " + " | ".join(str(o["mean"]) if o else "" for o, _, _ in versus) + " |")
            lines.append(f"| {cap} | best baseline | "
                         + " | ".join(f"{b[0]} ({MODELS[b[1]]})" if b else "" for _, b, _ in versus) + " |")
            lines.append(f"| {cap} | {name} − best baseline | "
                         + " | ".join(f"**{m:+.2f}**" if m is not None else "" for _, _, m in versus) + " |")
    return lines


def render_table(rows: List[Dict[str, str]]) -> str:
    """One Table 3 per setting, each under a bold line naming it. Settings that differ only in the
    epoch cap (one grid continued to more epochs) get one table, at the largest cap, and a table of
    the SC-LSTM's margin over the best baseline at every cap."""
    lines = []
    groups: Dict[tuple, List[str]] = {}
    for hidden, batch, cap, decoder in settings(rows):
        groups.setdefault((hidden, batch, decoder), []).append(cap)
    for (hidden, batch, decoder), caps in groups.items():
        caps = sorted(caps, key=int)
        group = [row for row in rows if (row["hidden"], row["batch"], row["decoder"]) == (hidden, batch, decoder)]
        if lines:
            lines.append("")
        heads = accuracy_report.DECODERS.get(decoder, decoder)
        lines += [f"**Hidden {hidden} per direction, batch {batch}, epoch cap {caps[-1]}, {heads} heads**", ""]
        lines += _render_setting([row for row in group if row["epoch_cap"] == caps[-1]])
        if len(caps) > 1:
            lines += ["", f"**Hidden {hidden} per direction, batch {batch}, {heads} heads, by epoch cap "
                      f"({', '.join(caps)}; seed means)**", ""]
            lines += _render_by_cap(group, caps)
    return "\n".join(lines) + "\n"


def render_runs(rows: List[Dict[str, str]]) -> str:
    lines = ["| run | model | tasks | hidden | batch | seed | epochs run (cap) | best epoch | POS dev / test "
             "| chunk dev / test | NER dev / test |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        scores = [f"{row[f'{t}_dev']} / {row[f'{t}_test']}" if row[f"{t}_test"] else "" for t in TASKS]
        lines.append(f"| `{row['run']}` | {MODELS[row['model']]} | {row['tasks']} | {row['hidden']} | {row['batch']} "
                     f"| {row['seed']} | {row['epochs_run']} ({row['epoch_cap']}) | {row['best_epoch']} | {' | '.join(scores)} |")
    return "\n".join(lines) + "\n"


BLOCK = accuracy_report.block_pattern("multitask_report.py")
render_block, update_doc = accuracy_report.doc_renderers(BLOCK, read_ledger, render_table, render_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--ledger", type=Path)
    parser.add_argument("--append", type=Path, nargs="+", metavar="RUN_DIR")
    parser.add_argument("--evaluate-stopped", action="store_true")
    parser.add_argument("--prefix", default="", help="with --append: the ledger names the runs PREFIX<directory name>")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--runs", action="store_true")
    parser.add_argument("--update-doc", type=Path, metavar="MARKDOWN")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.update_doc:
        accuracy_report.update_doc_file(args.update_doc, update_doc, args.check)
        return
    if not args.ledger:
        parser.error("give --ledger or --update-doc")
    if args.append:
        accuracy_report.append_runs(args.ledger, args.append, lambda run: run_values(run, args.evaluate_stopped), FIELDS,
                                    prefix=args.prefix)
        return
    rows = read_ledger(args.ledger) if args.ledger.exists() else []
    if args.table == args.runs:
        parser.error("--ledger needs one of --append, --table, --runs")
    print(render_table(rows) if args.table else render_runs(rows), end="")


if __name__ == "__main__":
    main()
