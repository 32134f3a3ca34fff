"""
A 2,000-word BiLSTM pass (input 100, hidden 256 per direction, as the main job's tagger) timed
under torch's thread settings while BUSY other processes spin on the cores (oversubscription).

    python benchmarks/oversubscription.py [--busy 2]

Each setting runs in its own process (OpenMP reads its variables at start-up): 2 threads with
OMP_WAIT_POLICY unset (libgomp's default: idle threads spin a while before they sleep), 2 threads
sleeping when idle (PASSIVE, what `requirements/allennlp_ain_env.pth` sets), and 1 thread. Median of
5 passes. The unset row runs with `python -S`, since the environment's `.pth` would set PASSIVE.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

SETTINGS = [("2 threads, OMP_WAIT_POLICY unset", "2", None), ("2 threads, PASSIVE", "2", "PASSIVE"), ("1 thread", "1", "PASSIVE")]


def one() -> float:
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(100, 256, bidirectional=True, batch_first=True).eval()
    words = torch.randn(1, 2000, 100)
    times = []
    with torch.no_grad():
        lstm(words)
        for _ in range(5):
            start = time.perf_counter()
            lstm(words)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=2, help="busy processes started beside the timed one")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(one())
        return
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"| setting ({args.busy} busy processes) | seconds per 2,000-word pass |")
        print("|---|---|")
        for label, threads, policy in SETTINGS:
            env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
            env["OMP_NUM_THREADS"] = threads
            # the environment's .pth sets PASSIVE when the variable is absent: the unset row runs
            # without site-packages' .pth files (-S), with the package path passed on explicitly
            command = [sys.executable, __file__, "--one"]
            if policy is None:
                import torch

                env["PYTHONPATH"] = os.path.dirname(os.path.dirname(torch.__file__))
                command.insert(1, "-S")
            else:
                env["OMP_WAIT_POLICY"] = policy
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            print(f"| {label} | {float(out.stdout.split()[-1]):.2f} |", flush=True)
    finally:
        for spinner in spinners:
            spinner.kill()


if __name__ == "__main__":
    main()
