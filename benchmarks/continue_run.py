"""
Continue a finished `allennlp train` run to more epochs, leaving the original run untouched.

    python benchmarks/continue_run.py RUN_DIR NEW_DIR EPOCHS

`RUN_DIR` is copied to `NEW_DIR`; the copy's `config.json` gets `trainer.num_epochs = EPOCHS`, its
`metrics.json` and `model.tar.gz` (the finished run's results) are removed, and `allennlp train
NEW_DIR/config.json -s NEW_DIR --recover` goes on from the last checkpoint: AllenNLP restores the
weights, the optimizer, the learning-rate scheduler (its plateau counter included) and the best dev
score so far, skips the epochs already run, and trains epochs `len(run) + 1 .. EPOCHS`. The result
is the run that `EPOCHS` as the cap would have given, up to the data order of the later epochs.
A run made before the shipped configs named the `ain_atomic` checkpointer continues with it (same
checkpoint files), so a kill during the continuation cannot leave a truncated checkpoint.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def continue_run(run: Path, new: Path, epochs: int, include_package: str = "allennlp_ain") -> None:
    if not (run / "config.json").is_file():
        raise SystemExit(f"{run}: not an allennlp serialization directory (no config.json)")
    if new.exists():
        raise SystemExit(f"{new} exists; choose a new directory")
    config = json.loads((run / "config.json").read_text())
    done = config["trainer"]["num_epochs"]
    if epochs <= done:
        raise SystemExit(f"{run} already ran to a cap of {done} epochs; EPOCHS must be larger")
    shutil.copytree(run, new)
    for stale in ("metrics.json", "model.tar.gz"):
        (new / stale).unlink(missing_ok=True)
    config["trainer"]["num_epochs"] = epochs
    if config["trainer"].get("checkpointer", {}).get("type", "default") == "default":
        config["trainer"]["checkpointer"] = {**config["trainer"].get("checkpointer", {}), "type": "ain_atomic"}
    (new / "config.json").write_text(json.dumps(config, indent=2))
    command = [
        sys.executable, "-m", "allennlp", "train", str(new / "config.json"), "-s", str(new), "--recover",
        "--include-package", include_package, "--file-friendly-logging",
    ]
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("epochs", type=int)
    args = parser.parse_args()
    continue_run(args.run, args.new, args.epochs)


if __name__ == "__main__":
    main()
