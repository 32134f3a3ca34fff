"""
Low-resource multilingual runs (Lin et al., 2018; issue 16): a run ledger, the table and the plot
made from it.

    python benchmarks/low_resource_report.py --ledger docs/runs-low-resource.csv --append RUN_DIR ... [--evaluate-stopped]
    python benchmarks/low_resource_report.py --ledger docs/runs-low-resource.csv --table | --runs
    python benchmarks/low_resource_report.py --ledger docs/runs-low-resource.csv --plot docs/low-resource.png
    python benchmarks/low_resource_report.py --update-doc docs/results-low-resource.md [--check]

A `RUN_DIR` is an `allennlp train` serialization directory of a config in
`training_configs/multilingual/` (`benchmarks/low_resource_runs.sh` makes them). Everything in a
row is read from the run's `config.json` and metrics, not from its name: the target dataset (the
mixing-rate scheduler's `target`), its sampled training size (`all` when not sampled), the
ablation (which datasets trained beside the target), the encoder, decoder and seed. The target's
dev F1 selects the epoch; its test F1 is reported (from `metrics.json` for a finished run, by
archiving and evaluating `best.th` with `--evaluate-stopped` for a run stopped before its cap,
as `accuracy_report.py` does).

`--table` renders one table per target: a row per training size, a column per ablation with the
mean test F1 over seeds (± the sample standard deviation), and `all − single` per seed (a seed
counts where both ran). `--plot` draws test F1 against the target's training size, one panel
per target, one line per ablation through the seed means, each seed a dot.
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

FIELDS = ["run", "target", "size", "ablation", "datasets", "encoder", "decoder", "seed", "epochs_run", "epoch_cap",
          "best_epoch", "dev", "test"]
ABLATIONS = {"single": "single task", "cross_lingual": "+ cross-lingual", "cross_task": "+ cross-task", "all": "all (full model)"}
COLORS = {"single": "tab:blue", "cross_lingual": "tab:green", "cross_task": "tab:purple", "all": "tab:orange"}
ENCODERS = {"ain_shared": "lstm_s", "ain_sc_lstm": "sc_lstm", "ain_layer_per_task": "lstm_d"}


# ---------------------------------------------------------------- one run directory


def _datasets(config: dict) -> Dict[str, dict]:
    """name -> {language, task, sample} of the run's training datasets."""
    readers = config["dataset_reader"]["readers"]
    return {
        name: {"language": reader["language"], "task": reader["label_namespace"][: -len("_labels")],
               "sample": reader.get("sample")}
        for name, reader in readers.items()
    }


def ablation_of(datasets: Dict[str, dict], target: str) -> str:
    """Which of lib/multilingual.libsonnet's ablations trains these datasets beside the target."""
    goal = datasets[target]
    others = [d for name, d in datasets.items() if name != target]
    if not others:
        return "single"
    if all(d["task"] == goal["task"] for d in others):
        return "cross_lingual"
    if all(d["language"] == goal["language"] for d in others):
        return "cross_task"
    return "all"


def run_values(run: Path, evaluate_stopped: bool) -> Dict[str, str]:
    """The ledger row of a run directory."""
    config = json.loads((run / "config.json").read_text())
    values = accuracy_report.run_values(run, evaluate_stopped)
    if values is None:
        raise SystemExit(f"{run}: no epoch finished")
    if values["test"] is None:
        raise SystemExit(f"{run}: stopped before its cap; --evaluate-stopped scores its best epoch on test")
    target = config["data_loader"]["scheduler"]["target"]
    datasets = _datasets(config)
    sample = datasets[target]["sample"]
    return {
        "run": run.name, "target": target, "size": "all" if sample is None else str(sample),
        "ablation": ablation_of(datasets, target), "datasets": "+".join(sorted(datasets)),
        "encoder": ENCODERS.get(config["model"]["encoder"]["type"], config["model"]["encoder"]["type"]),
        "decoder": accuracy_report.decoders_label(config["model"]["heads"].values()), "seed": accuracy_report.seed_label(config),
        "epochs_run": str(values["epochs_run"]), "epoch_cap": str(values["epoch_cap"]),
        "best_epoch": str(values["best_epoch"] + 1),
        "dev": f"{100 * values['dev']:.2f}", "test": f"{100 * values['test']:.2f}",
    }


# ---------------------------------------------------------------- the ledger, the table, the plot


def read_ledger(path: Path) -> List[Dict[str, str]]:
    return accuracy_report.read_ledger(path, FIELDS)


def write_ledger(path: Path, rows: List[Dict[str, str]]) -> None:
    accuracy_report.write_ledger(path, rows, FIELDS)


def _size_key(size: str):
    return (1, 0.0) if size == "all" else (0, float(size))


def cells(rows: List[Dict[str, str]]) -> Dict[str, Dict[str, Dict[str, Dict[str, Decimal]]]]:
    """target -> size -> ablation -> seed -> test F1; a seed twice in one cell is an error."""
    result: Dict[str, Dict[str, Dict[str, Dict[str, Decimal]]]] = {}
    for row in rows:
        cell = result.setdefault(row["target"], {}).setdefault(row["size"], {}).setdefault(row["ablation"], {})
        if row["seed"] in cell:
            raise ValueError(f"{row['target']} {row['size']} {row['ablation']}: two runs of seed {row['seed']}")
        cell[row["seed"]] = Decimal(row["test"])
    return result


def _mean(values: List[Decimal]) -> str:
    text = f"**{accuracy_report._round(sum(values) / len(values))}**"
    return text + (f" ± {accuracy_report._round(accuracy_report._sd(values))}" if len(values) > 1 else "")


def render_table(rows: List[Dict[str, str]]) -> str:
    lines = []
    for target, sizes in cells(rows).items():
        if lines:
            lines.append("")
        lines += [f"**{target}** (test F1; mean ± sd over seeds)", "",
                  "| target sentences | " + " | ".join(ABLATIONS.values()) + " | seeds | all − single, per seed |",
                  "|---|" + "---|" * len(ABLATIONS) + "---|---|"]
        for size in sorted(sizes, key=_size_key):
            by_ablation = sizes[size]
            texts = [_mean(list(by_ablation[a].values())) if by_ablation.get(a) else "" for a in ABLATIONS]
            seeds = sorted({seed for runs in by_ablation.values() for seed in runs})
            both = [seed for seed in seeds if seed in by_ablation.get("all", {}) and seed in by_ablation.get("single", {})]
            gains = ", ".join(f"{by_ablation['all'][s] - by_ablation['single'][s]:+.2f} (seed {s})" for s in both)
            lines.append(f"| {size} | {' | '.join(texts)} | {', '.join(seeds)} | {gains} |")
    return "\n".join(lines) + "\n"


def render_runs(rows: List[Dict[str, str]]) -> str:
    lines = ["| run | target | size | ablation | datasets | encoder | decoder | seed | epochs run (cap) | best epoch "
             "| dev F1 | test F1 |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["target"], _size_key(r["size"]), list(ABLATIONS).index(r["ablation"]), r["seed"])):
        lines.append(f"| `{row['run']}` | {row['target']} | {row['size']} | {row['ablation']} | {row['datasets']} "
                     f"| {row['encoder']} | {row['decoder']} | {row['seed']} | {row['epochs_run']} ({row['epoch_cap']}) "
                     f"| {row['best_epoch']} | {row['dev']} | {row['test']} |")
    return "\n".join(lines) + "\n"


def plot(rows: List[Dict[str, str]], path: Path, full_sizes: Optional[Dict[str, int]] = None) -> None:
    """Test F1 against the target's training sentences (log scale); `all` is drawn at the target
    file's sentence count (`full_sizes`, default: counted from the ledger's largest sample × 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = cells(rows)
    figure, axes = plt.subplots(1, len(table), figsize=(5 * len(table), 4), squeeze=False)
    for axis, (target, sizes) in zip(axes[0], table.items()):
        numeric = [float(size) for size in sizes if size != "all"]
        full = (full_sizes or {}).get(target, 2 * max(numeric, default=100.0))
        for ablation, label in ABLATIONS.items():
            points = sorted((full if size == "all" else float(size), by[ablation])
                            for size, by in sizes.items() if by.get(ablation))
            if not points:
                continue
            xs = [x for x, _ in points]
            means = [float(sum(seeds.values()) / len(seeds)) for _, seeds in points]
            color = COLORS[ablation]
            axis.plot(xs, means, marker="o", label=label, color=color)
            for x, seeds in points:
                axis.scatter([x] * len(seeds), [float(v) for v in seeds.values()], s=12, color=color, alpha=0.5)
        axis.set_xscale("log")
        ticks = sorted((full if size == "all" else float(size), f"all ({full:,.0f})" if size == "all" else size) for size in sizes)
        axis.set_xticks([x for x, _ in ticks], [text for _, text in ticks])
        axis.minorticks_off()
        axis.set_xlabel("target training sentences (log scale)")
        axis.set_ylabel("test F1")
        axis.set_title(target)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)


# Sentence counts of the CoNLL-2002 training files (../shared/data/README.md): where `all` is drawn.
FULL_SIZES = {"nl_ner": 15806, "es_ner": 8323}

BLOCK = accuracy_report.block_pattern("low_resource_report.py")
render_block, update_doc = accuracy_report.doc_renderers(BLOCK, read_ledger, render_table, render_runs)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--ledger", type=Path)
    parser.add_argument("--append", type=Path, nargs="+", metavar="RUN_DIR")
    parser.add_argument("--evaluate-stopped", action="store_true")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--runs", action="store_true")
    parser.add_argument("--plot", type=Path, metavar="PNG")
    parser.add_argument("--update-doc", type=Path, metavar="MARKDOWN")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.update_doc:
        accuracy_report.update_doc_file(args.update_doc, update_doc, args.check)
        return
    if not args.ledger:
        parser.error("give --ledger or --update-doc")
    if args.append:
        accuracy_report.append_runs(args.ledger, args.append, lambda run: run_values(run, args.evaluate_stopped), FIELDS)
        return
    rows = read_ledger(args.ledger) if args.ledger.exists() else []
    if args.plot:
        plot(rows, args.plot, FULL_SIZES)
        return
    if args.table == args.runs:
        parser.error("--ledger needs one of --append, --table, --runs, --plot")
    print(render_table(rows) if args.table else render_runs(rows), end="")


if __name__ == "__main__":
    main()
