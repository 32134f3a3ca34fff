"""
SC-LSTM speed against `torch.nn.LSTM` of the same width and depth, side by side in one run
(issue 15's target on CPU: at most 2× nn.LSTM's time, training step and prediction alike).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/sc_lstm_speed.py [--threads 2] [--tasks 3]

Bidirectional, `--layers` layers (default 3, the paper's) of `--hidden` units per direction over `--input`-wide inputs,
batch `--batch`, sentences of each `--lengths` (all the same length, no padding); the training
step is forward + the sum of every task's output (nn.LSTM: its output) + backward; prediction is
the forward pass under `torch.no_grad`. Median milliseconds over interleaved rounds; prints a
markdown table with the ratio SC-LSTM / nn.LSTM.
"""
import argparse
import statistics
import time

import torch

from allennlp_ain.modules.multitask_encoders import ScLstm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--layers", type=int, default=3, help="the paper's Table 3 depth")
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--input", type=int, default=108, help="GloVe 100d + 8 capitalisation dims")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per round and cell")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tasks = [f"task{k}" for k in range(args.tasks)]
    contenders = {
        "nn.LSTM": torch.nn.LSTM(args.input, args.hidden, num_layers=args.layers, bidirectional=True, batch_first=True),
        f"SC-LSTM ({args.tasks} tasks)": ScLstm(args.input, args.hidden, tasks, num_layers=args.layers),
    }

    def run(name, module, inputs, mask, train):
        if name == "nn.LSTM":
            outputs = [module(inputs)[0]]
        else:
            outputs = list(module(inputs, mask).values())
        if train:
            sum(output.sum() for output in outputs).backward()

    times = {(name, length, mode): [] for name in contenders for length in args.lengths for mode in ("train", "predict")}
    for _ in range(args.rounds):
        for length in args.lengths:
            inputs = torch.randn(args.batch, length, args.input)
            mask = torch.ones(args.batch, length, dtype=torch.bool)
            for mode in ("train", "predict"):
                for name, module in contenders.items():
                    with torch.set_grad_enabled(mode == "train"):
                        run(name, module, inputs, mask, mode == "train")  # warm-up
                        for _ in range(args.calls):
                            start = time.perf_counter()
                            run(name, module, inputs, mask, mode == "train")
                            times[name, length, mode].append(time.perf_counter() - start)
                    module.zero_grad(set_to_none=True)
    print(
        f"Bidirectional, {args.layers} layers, hidden {args.hidden}, input {args.input}, batch {args.batch}, "
        f"{args.threads} thread(s); median ms per batch over {args.rounds} rounds × {args.calls} calls"
    )
    print()
    print("| words | mode | " + " | ".join(contenders) + " | SC-LSTM / nn.LSTM |")
    print("|---|---|" + "---|" * (len(contenders) + 1))
    names = list(contenders)
    for length in args.lengths:
        for mode in ("train", "predict"):
            medians = [1000 * statistics.median(times[name, length, mode]) for name in names]
            cells = " | ".join(f"{m:.1f}" for m in medians)
            print(f"| {length} | {mode} | {cells} | {medians[1] / medians[0]:.2f}× |")


if __name__ == "__main__":
    main()
