"""
Training on a corpus larger than memory: `allennlp train` on a generated CoNLL file of N sentences
with AllenNLP's `max_instances_in_memory`, for growing N; peak resident memory of the training
process and its speed.

    OMP_NUM_THREADS=1 nice -n 2 .venv/bin/python benchmarks/streaming_training.py \\
        [--sentences 100000 1000000] [--work /tmp/ain_streaming] [--runs /tmp/ain_streaming/runs]

The corpus is `benchmarks/streaming.py`'s (the fixture's sentences drawn at random with a fixed
seed; the same files are reused). The config is the shipped `training_configs/conll03_ner.jsonnet`
with a tiny model so that one epoch of a million sentences takes minutes on one thread: word
embeddings alone (50 dimensions, random, `ENCODER=word`) and the `maxent` decoder; the dev set is
the 20-sentence fixture, and the overrides give one epoch, no test evaluation and
`data_loader.max_instances_in_memory` (`--in-memory`, default 3,200 = 100 batches of 32). The
vocabulary is built by AllenNLP from the training file, through the same lazy loader.

Each size trains in its own `allennlp train` process; its peak RSS is the `ru_maxrss` that
`os.wait4` reports for that process alone. Speeds: the whole command (vocabulary pass, training
epoch, validation, archiving) and the training epoch alone (`training_duration` of its
`metrics.json`, which includes the tiny validation), in sentences of the file per second.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from streaming import FIXTURE, make_corpus  # noqa: E402

CONFIG = ROOT / "training_configs" / "conll03_ner.jsonnet"


def overrides(in_memory: int) -> str:
    return json.dumps({
        "trainer.num_epochs": 1,
        "evaluate_on_test": False,
        "data_loader.max_instances_in_memory": in_memory,
    })


def command(corpus: Path, run: Path, in_memory: int) -> list:
    return [sys.executable, "-m", "allennlp", "train", str(CONFIG), "-s", str(run), "-f",
            "--include-package", "allennlp_ain", "--file-friendly-logging", "-o", overrides(in_memory)]


def train(corpus: Path, run: Path, in_memory: int, log: Path) -> dict:
    env = {**os.environ, "TRAIN_DATA": str(corpus), "DEV_DATA": str(FIXTURE), "TEST_DATA": str(FIXTURE),
           "ENCODER": "word", "DECODER": "maxent", "GLOVE": "", "CUDA_DEVICE": "-1"}
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command(corpus, run, in_memory), cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"allennlp train failed (exit {os.waitstatus_to_exitcode(status)}); see {log}")
    metrics = json.loads((run / "metrics.json").read_text())
    hours, minutes, seconds = metrics["training_duration"].split(":")
    epoch = datetime.timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds)).total_seconds()
    return {"wall_s": wall, "epoch_s": epoch, "peak_rss_mb": usage.ru_maxrss / 1024,
            "train_accuracy": metrics["training_accuracy"], "dev_f1": metrics["validation_f1-measure-overall"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ain_streaming"), help="where the corpora are")
    parser.add_argument("--runs", type=Path, default=None, help="serialization directories (default: WORK/runs)")
    parser.add_argument("--in-memory", type=int, default=3200, help="data_loader.max_instances_in_memory")
    args = parser.parse_args()
    runs = args.runs or args.work / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, max_instances_in_memory={args.in_memory}")
    print("| sentences | file MB | peak RSS of `allennlp train` (MB) | whole command (s) | sentences/s, whole command "
          "| training epoch (s) | sentences/s, epoch | train accuracy | dev span F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sentences:
        corpus = args.work / f"corpus_{size}.txt"
        if not corpus.exists():
            make_corpus(corpus, size)
        r = train(corpus, runs / f"train_{size}", args.in_memory, runs / f"train_{size}.log")
        print(f"| {size:,} | {corpus.stat().st_size / 2**20:.0f} | {r['peak_rss_mb']:.0f} | {r['wall_s']:.0f} "
              f"| {size / r['wall_s']:,.0f} | {r['epoch_s']:.0f} | {size / r['epoch_s']:,.0f} "
              f"| {r['train_accuracy']:.4f} | {r['dev_f1']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
