"""
Corpora larger than memory: peak resident memory and reading speed of the `ain_conll` reader and of
vocabulary building over a generated CoNLL file, through AllenNLP's `MultiProcessDataLoader` with
`max_instances_in_memory`, for growing numbers of sentences.

    python benchmarks/streaming.py [--sentences 100000 1000000] [--work DIR]

The file is made of the fixture's sentences (`fixtures/conll/conll2003_sample.txt`) drawn at
random with a fixed seed. Each size runs in its own process, so `ru_maxrss` is its own peak; the
table gives the peak over the process's memory before reading (torch and AllenNLP imported).
"""
import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "conll" / "conll2003_sample.txt"


def make_corpus(path: Path, sentences: int) -> None:
    blocks = [b for b in FIXTURE.read_text(encoding="utf-8").split("\n\n") if b.strip() and "-DOCSTART-" not in b]
    generator = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(sentences):
            out.write(generator.choice(blocks).strip("\n") + "\n\n")


def measure(path: Path) -> dict:
    import allennlp_ain  # noqa: F401
    from allennlp.data import Vocabulary
    from allennlp.data.data_loaders import MultiProcessDataLoader

    from allennlp_ain.data.dataset_readers.conll import ConllReader

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reader = ConllReader(tag_scheme="IOB1", convert_to="BIOES", label_column=3)
    start = time.perf_counter()
    count = sum(1 for _ in reader.read(str(path)))
    read_seconds = time.perf_counter() - start
    loader = MultiProcessDataLoader(reader, str(path), batch_size=32, max_instances_in_memory=1000)
    start = time.perf_counter()
    vocabulary = Vocabulary.from_instances(loader.iter_instances())
    vocab_seconds = time.perf_counter() - start
    loader.index_with(vocabulary)
    start = time.perf_counter()
    batches = sum(1 for _ in loader)
    batch_seconds = time.perf_counter() - start
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return {"sentences": count, "read_per_s": count / read_seconds, "vocab_per_s": count / vocab_seconds,
            "batches": batches, "batch_per_s": count / batch_seconds, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ain_streaming"))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    print("| sentences | file MB | read (sentences/s) | vocabulary (sentences/s) | tensorized batches (sentences/s) | peak memory over baseline (MB) |")
    print("|---|---|---|---|---|---|")
    for size in args.sentences:
        path = args.work / f"corpus_{size}.txt"
        if not path.exists():
            make_corpus(path, size)
        out = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.splitlines()[-1])
        print(f"| {r['sentences']:,} | {path.stat().st_size / 2**20:.0f} | {r['read_per_s']:,.0f} | {r['vocab_per_s']:,.0f} "
              f"| {r['batch_per_s']:,.0f} | {r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
