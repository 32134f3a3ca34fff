"""
One markdown row per training run: epochs run, the epoch selected on dev, its dev and test score.

    python benchmarks/accuracy_report.py RUN_DIR [RUN_DIR ...] [--evaluate-stopped]

A `RUN_DIR` is an `allennlp train` serialization directory. When the run finished, the numbers
come from its `metrics.json` (AllenNLP evaluates the best-on-dev weights on `test_data_path`).
A run stopped before its epoch cap has no `metrics.json`; with `--evaluate-stopped` its
`best.th` (the weights of its best dev epoch so far, written by AllenNLP's checkpointer) is
archived to `RUN_DIR/model_best.tar.gz` and scored with `allennlp evaluate` on the config's
`test_data_path`, so the test score is the same quantity in both cases: the test score of the
epoch that dev selects. The test set never selects anything. A run continued with `--recover`
in a copy of a finished run's directory carries that run's `metrics.json` until it finishes in
turn; a `metrics.json` older than the newest `metrics_epoch_N.json` is ignored as stale.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path


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


def report(run: Path, evaluate_stopped: bool) -> str:
    config = json.loads((run / "config.json").read_text())
    metric = _metric(config)
    cap = config["trainer"]["num_epochs"]
    finished = run / "metrics.json"
    values = json.loads(finished.read_text()) if finished.exists() else None
    if values is not None and _last_epoch(run) > values["epoch"]:
        values = None  # left by the run this one continues
    if values is not None:
        best_epoch = values["best_epoch"]
        dev = values[f"best_validation_{metric}"]
        test = values.get(f"test_{metric}")
        status = f"{values['epoch'] + 1} ({cap})"
    else:
        epochs = _epochs(run, metric)
        scored = [(score, epoch) for epoch, score in epochs if score is not None]
        if not scored:
            return f"| {run.name} | no epoch finished | | | |"
        dev, best_epoch = max(scored, key=lambda pair: (pair[0], -pair[1]))
        status = f"{len(epochs)} ({cap}), stopped"
        test = None
        if evaluate_stopped:
            test = _evaluate_best(run, config, metric)
    test_text = "n/a" if test is None else f"**{100 * test:.2f}**"
    return f"| {run.name} | {status} | {best_epoch + 1} | {100 * dev:.2f} | {test_text} |"


def _evaluate_best(run: Path, config: dict, metric: str):
    from allennlp.models.archival import archive_model

    archive = run / "model_best.tar.gz"
    archive_model(run, weights="best.th", archive_path=archive)
    output = run / "test_metrics_best.json"
    command = [
        sys.executable, "-m", "allennlp", "evaluate", str(archive), config["test_data_path"],
        "--include-package", "allennlp_ain", "--output-file", str(output),
        "--file-friendly-logging",
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(output.read_text())[metric]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--evaluate-stopped", action="store_true")
    args = parser.parse_args()
    print("| run | epochs run (cap) | best epoch | dev | test |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        print(report(run, args.evaluate_stopped), flush=True)


if __name__ == "__main__":
    main()
