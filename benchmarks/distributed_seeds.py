"""
One worker against two: the main job's config and data trained by `allennlp train` in one process
and in two CPU workers (AllenNLP's `distributed`, torch.distributed with gloo), for several seeds;
dev accuracy (UPOS) of the best epoch and test accuracy of its archive (`allennlp evaluate`), per
run, with each setting's mean and standard deviation over the seeds.

    OMP_NUM_THREADS=1 nice -n 2 .venv/bin/python benchmarks/distributed_seeds.py \\
        [--epochs 10] [--seeds 1 2 3] [--workers 1 2] [--batch-size B] [--work /tmp/ain_distributed]

Config, data and trainer are those of `scripts/main_job.py` (`training_configs/ud_pos.jsonnet`,
the embedded UD English-EWT sample, the GloVe 6B 50d slice, BiLSTM + CRF, Adam lr 0.002), with
`--epochs` epochs, `random_seed`, `numpy_seed` and `pytorch_seed` all set to the seed, and for two
workers `"distributed": {"cuda_devices": [-1, -1]}` (no test evaluation inside the run: AllenNLP
evaluates on test in the primary worker alone, after the others have left; the archive is evaluated
afterwards instead). Each worker reads half of the training sentences and takes batches of 32, so
two workers make an effective batch of 64 and half as many optimizer steps per epoch; validation
is not sharded (every worker reads the whole dev file, `distributed_sharding: false`), so the
reduced dev accuracy is the one-process figure. `--batch-size B` sets each worker's batch instead
(`data_loader.batch_sampler.batch_size`; e.g. 16 with two workers: an effective batch of 32 and as
many optimizer steps per epoch as one worker with the config's 32). Runs go one at a time, one thread per process
(`OMP_NUM_THREADS=1`); a finished run (its `test_metrics.json` exists) is not run again.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from main_job import CONFIG, ext_vars, train_overrides  # noqa: E402


def overrides(epochs: int, seed: int, workers: int, batch_size: Optional[int]) -> str:
    params = json.loads(train_overrides(epochs))
    params.update(random_seed=seed, numpy_seed=seed, pytorch_seed=seed)
    if batch_size is not None:
        params["data_loader.batch_sampler.batch_size"] = batch_size
    if workers > 1:
        params["distributed"] = {"cuda_devices": [-1] * workers}
    return json.dumps(params)


def allennlp(*args: str, env: dict, log: Path) -> None:
    command = [sys.executable, "-m", "allennlp", *args, "--include-package", "allennlp_ain"]
    with log.open("a") as out:
        out.write("$ allennlp " + " ".join(args) + "\n")
        out.flush()
        subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def run(work: Path, epochs: int, seed: int, workers: int, batch_size: Optional[int], env: dict) -> dict:
    name = f"workers{workers}_seed{seed}" + ("" if batch_size is None else f"_batch{batch_size}")
    run_dir = work / name
    test_file = run_dir / "test_metrics.json"
    log = work / f"{name}.log"
    if not test_file.exists():
        start = time.perf_counter()
        allennlp("train", str(CONFIG), "-s", str(run_dir), "-f", "--file-friendly-logging",
                 "-o", overrides(epochs, seed, workers, batch_size), env=env, log=log)
        allennlp("evaluate", str(run_dir / "model.tar.gz"), env["TEST_DATA"], "--output-file", str(test_file),
                 env=env, log=log)
        (run_dir / "wall_seconds.txt").write_text(f"{time.perf_counter() - start:.0f}\n")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    batch = batch_size or 32
    return {"workers": workers, "seed": seed, "batch": batch, "effective_batch": batch * workers,
            "best_epoch": metrics["best_epoch"],
            "dev": metrics["best_validation_accuracy"], "test": json.loads(test_file.read_text())["accuracy"],
            "wall_s": int((run_dir / "wall_seconds.txt").read_text())}


def mean_sd(values: list) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{100 * statistics.mean(values):.2f} ± {100 * sd:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=None, help="each worker's batch (default: the config's 32)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ain_distributed"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **ext_vars("crf"), "OMP_NUM_THREADS": "1"}
    print(f"{args.epochs} epochs, seeds {args.seeds}, OMP_NUM_THREADS=1 per process")
    print("| workers | batch per worker (effective) | seed | best epoch | dev UPOS (%) | test UPOS (%) | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    results = []
    for seed in args.seeds:
        for workers in args.workers:
            r = run(args.work, args.epochs, seed, workers, args.batch_size, env)
            results.append(r)
            print(f"| {workers} | {r['batch']} ({r['effective_batch']}) | {seed} | {r['best_epoch']} "
                  f"| {100 * r['dev']:.2f} | {100 * r['test']:.2f} "
                  f"| {r['wall_s']} |", flush=True)
    print()
    print("| workers | batch per worker (effective) | runs | dev UPOS, mean ± sd (%) | test UPOS, mean ± sd (%) |")
    print("|---|---|---|---|---|")
    for workers in args.workers:
        mine = [r for r in results if r["workers"] == workers]
        batch = f"{mine[0]['batch']} ({mine[0]['effective_batch']})"
        dev, test = mean_sd([r["dev"] for r in mine]), mean_sd([r["test"] for r in mine])
        print(f"| {workers} | {batch} | {len(mine)} | {dev} | {test} |")


if __name__ == "__main__":
    main()
