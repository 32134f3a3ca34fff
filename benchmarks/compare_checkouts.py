"""
Times the decoders of two or more checkouts of this repository side by side, to see what a change
costs or saves: training (loss + backward), prediction (decode) and the evaluation of a batch
(tags, marginals and loss, the way the tagging head asks for them: one `infer` where the checkout
has it, three separate calls where it does not). Random logits, batch 32 × 128 words, 17 labels,
1 thread, median of 31 timed calls after 3 untimed ones, checkouts interleaved over `--rounds`.

    .venv/bin/python benchmarks/compare_checkouts.py /path/to/old/checkout . --rounds 3

(`git worktree add /tmp/old 855b80e` makes an old checkout.) Prints, per operation, the median
over rounds for each checkout and its ratio to the first.
"""
import argparse
import json
import statistics
import subprocess
import sys

MEASURE = r'''
import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
torch.set_num_threads(1)
import allennlp_ain.modules.decoders as d
L, B, N = 17, 32, 128
g = torch.Generator().manual_seed(0)
logits = torch.randn(B, N, L, generator=g)
mask = torch.ones(B, N, dtype=torch.bool)
tags = torch.randint(0, L, (B, N), generator=g)
result = {}
for name, dec in [("CRF", d.LinearChainCrf(L)), ("AIN-1O", d.MeanField(L, order=1)), ("MaxEnt", d.MaxEnt(L))]:
    def train():
        x = logits.clone().requires_grad_()
        dec.loss(x, tags, mask).backward()
    def predict():
        with torch.no_grad():
            dec.decode(logits, mask)
    def evaluate():
        with torch.no_grad():
            if hasattr(dec, "infer"):
                inference = dec.infer(logits, mask)
                inference.tags, inference.marginals, inference.log_likelihood(tags).mean()
            else:
                dec.decode(logits, mask), dec.marginals(logits, mask), dec.loss(logits, tags, mask)
    for operation, function in [("train", train), ("predict", predict), ("evaluate", evaluate)]:
        for _ in range(3):
            function()
        times = []
        for _ in range(31):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        result[f"{name} {operation}"] = 1000 * sorted(times)[15]
print(json.dumps(result))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="+", help="repository roots; the first is the reference")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    timings = {checkout: [] for checkout in args.checkouts}
    for _ in range(args.rounds):
        for checkout in args.checkouts:
            run = subprocess.run([sys.executable, "-c", MEASURE, checkout], capture_output=True, text=True, check=True)
            timings[checkout].append(json.loads(run.stdout.strip().splitlines()[-1]))
    reference = args.checkouts[0]
    cells = list(timings[reference][0])
    medians = {c: {cell: statistics.median(r[cell] for r in timings[c]) for cell in cells} for c in args.checkouts}
    print("| operation (ms, median) | " + " | ".join(args.checkouts) + " |")
    print("|---" * (len(args.checkouts) + 1) + "|")
    for cell in cells:
        row = [f"{medians[reference][cell]:.2f}"]
        row += [f"{medians[c][cell]:.2f} ({medians[reference][cell] / medians[c][cell]:.2f}× faster)" for c in args.checkouts[1:]]
        print(f"| {cell} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
