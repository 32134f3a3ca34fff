"""
Time and peak memory of every decoder on one hostile batch: one 10,000-token sentence among 15
one-token ones, 17 labels (CoNLL NER in BIOES), float32 on the CPU, with and without BIOES
constraints; `infer` then the tags and the marginals (what prediction asks for).

    python benchmarks/long_sentence.py [--length 10000] [--threads 1]

Each cell runs in its own process, so its peak resident memory (`ru_maxrss`) is its own; the
table gives that peak minus the process's peak before the batch (torch and the model loaded).
"""
import argparse
import json
import resource
import subprocess
import sys
import time

CELLS = [("maxent", {}), ("crf", {}), ("mfvi", {"order": 1}), ("mfvi", {"order": 2})]
NAMES = {"maxent": "MaxEnt", "crf": "CRF", "mfvi1": "AIN-1O", "mfvi2": "AIN-F2O"}


def one_cell(name: str, kwargs: dict, constrained: bool, length: int, threads: int) -> dict:
    import torch

    from allennlp_ain.modules.decoders import SequenceDecoder
    from allennlp_ain.tag_schemes import allowed_transitions

    torch.set_num_threads(threads)
    types = ["PER", "LOC", "ORG", "MISC"]
    labels = ["O"] + [f"{p}-{t}" for t in types for p in "BIES"]
    constraints = allowed_transitions("BIOES", dict(enumerate(labels))) if constrained else None
    decoder = SequenceDecoder.by_name(name)(len(labels), constraints=constraints, **kwargs)
    lengths = [1] * 7 + [length] + [1] * 8
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(len(lengths), length, len(labels), generator=generator)
    mask = torch.arange(length).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with torch.no_grad():
        inference = decoder.infer(logits, mask)
        inference.tags, inference.marginals
    seconds = time.perf_counter() - start
    extra_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return {"seconds": seconds, "extra_mb": extra_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--length", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        name, kwargs, constrained = json.loads(args.cell)
        print(json.dumps(one_cell(name, kwargs, constrained, args.length, args.threads)))
        return
    print(f"| decoder | constraints | seconds | peak memory over baseline (MB) |")
    print("|---|---|---|---|")
    for name, kwargs in CELLS:
        for constrained in (False, True):
            cell = json.dumps([name, kwargs, constrained])
            command = [sys.executable, __file__, "--cell", cell, "--length", str(args.length), "--threads", str(args.threads)]
            result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            label = NAMES[name + (str(kwargs["order"]) if name == "mfvi" else "")]
            print(f"| {label} | {'BIOES' if constrained else 'none'} | {result['seconds']:.2f} | {result['extra_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
