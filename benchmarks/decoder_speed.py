"""
Training and prediction speed of the decoders, following Table 1 of the AIN paper (Wang et al.,
2021): 10,000 sentences of 32 and of 128 words, batch 32, 17 labels (CoNLL NER in BIOES), timed
for the decoder alone (random logits as input) and for the full model (word embedding + char CNN
+ BiLSTM, hidden size 256 per direction, + a linear layer to the labels; random token ids).

Compared side by side on the same inputs: MaxEnt, our exact CRF, AIN-1O, AIN-F2O, AllenNLP's
`ConditionalRandomField` (used as allennlp-models' `crf_tagger` uses it: `-crf(...)` for the loss,
`viterbi_tags` for decoding) and pytorch-crf (`torchcrf.CRF`, `-crf(..., reduction="mean")`,
`crf.decode`). Training = loss + backward; prediction = forward + decode under `no_grad`.

The timed batches of every contender are interleaved in rounds, so that a background load slows
all of them alike; ratios are therefore measured side by side. The full model on CPU is slow, so
by default only a few of its batches are timed and the time for 10,000 sentences is extrapolated
from them: the table states how many sentences were actually timed.

    .venv/bin/python benchmarks/decoder_speed.py            # full run, about 10 minutes on 2 CPU cores
    .venv/bin/python benchmarks/decoder_speed.py --quick    # a smoke run, well under a minute
    .venv/bin/python benchmarks/decoder_speed.py --device cuda

Writes `benchmarks/out/decoder_speed.md` (the tables), `decoder_speed.json` (raw timings) and
`decoder_speed.png` (decoder-only prediction throughput against sentence length).
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from allennlp.modules import ConditionalRandomField  # noqa: E402
from allennlp.modules.seq2seq_encoders import PytorchSeq2SeqWrapper  # noqa: E402
from allennlp.modules.seq2vec_encoders import CnnEncoder  # noqa: E402
from allennlp.modules.text_field_embedders import BasicTextFieldEmbedder  # noqa: E402
from allennlp.modules.token_embedders import Embedding, TokenCharactersEncoder  # noqa: E402
from torchcrf import CRF  # noqa: E402

from allennlp_ain.modules.decoders import LinearChainCrf, MaxEnt, MeanField  # noqa: E402
from allennlp_ain.tag_schemes import allowed_transitions, span_labels  # noqa: E402

LABELS = 17
BATCH = 32
VOCABULARY = 20000
CHARACTERS = 100
WORD_LENGTH = 8
REFERENCES = ("AllenNLP CRF", "pytorch-crf", "CRF (ours)")


class Contender:
    """A decoder behind two uniform calls: `train(logits, tags, mask)` → loss, `predict(logits, mask)`."""

    def __init__(self, name: str, module: torch.nn.Module, train: Callable, predict: Callable) -> None:
        self.name, self.module, self.train, self.predict = name, module, train, predict


def contenders(device: torch.device, constrained: bool) -> List[Contender]:
    generator = torch.Generator().manual_seed(0)

    def randomised(module: torch.nn.Module) -> torch.nn.Module:
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
        return module.to(device)

    ours = {
        "MaxEnt": MaxEnt(LABELS),
        "CRF (ours)": LinearChainCrf(LABELS),
        "AIN-1O": MeanField(LABELS, order=1),
        "AIN-F2O": MeanField(LABELS, order=2),
    }
    if constrained:
        types = ["PER", "LOC", "ORG", "MISC"]
        labels = dict(enumerate(["O"] + [f"{p}-{t}" for t in types for p in "BIES"]))
        constraints = allowed_transitions("BIOES", labels)
        spans = span_labels("BIOES", labels)
        # what a tagger with constrain_decoding builds: the parallel valid decoding (the default)
        # and the exact sequential pass it replaces; the CRF's constrained Viterbi beside them
        ours["AIN-1O (BIOES, parallel valid)"] = MeanField(LABELS, order=1, constraints=constraints, span_labels=spans)
        ours["AIN-1O (BIOES, sequential Viterbi)"] = MeanField(
            LABELS, order=1, constraints=constraints, span_labels=spans, valid_decoding="viterbi"
        )
        ours["MaxEnt (BIOES, parallel valid)"] = MaxEnt(LABELS, constraints=constraints, span_labels=spans)
        ours["CRF (ours, BIOES-constrained)"] = LinearChainCrf(LABELS, constraints=constraints)
    result = [Contender(n, randomised(d), d.loss, d.decode) for n, d in ours.items()]

    allennlp_crf = randomised(ConditionalRandomField(LABELS))
    result.append(
        Contender(
            "AllenNLP CRF",
            allennlp_crf,
            lambda logits, tags, mask: -allennlp_crf(logits, tags, mask),
            lambda logits, mask: [path for path, _ in allennlp_crf.viterbi_tags(logits, mask)],
        )
    )
    torch_crf = randomised(CRF(LABELS, batch_first=True))
    result.append(
        Contender(
            "pytorch-crf",
            torch_crf,
            lambda logits, tags, mask: -torch_crf(logits, tags, mask=mask, reduction="mean"),
            lambda logits, mask: torch_crf.decode(logits, mask=mask),
        )
    )
    return result


class Encoder(torch.nn.Module):
    """WORD-CHAR-BiLSTM of the paper: word embedding (100) + char CNN (50) → BiLSTM (256) → labels."""

    def __init__(self) -> None:
        super().__init__()
        characters = TokenCharactersEncoder(
            Embedding(embedding_dim=30, num_embeddings=CHARACTERS),
            CnnEncoder(embedding_dim=30, num_filters=50, ngram_filter_sizes=(3,)),
        )
        self.embedder = BasicTextFieldEmbedder(
            {"tokens": Embedding(embedding_dim=100, num_embeddings=VOCABULARY), "token_characters": characters}
        )
        lstm = torch.nn.LSTM(150, 256, batch_first=True, bidirectional=True)
        self.encoder = PytorchSeq2SeqWrapper(lstm)
        self.projection = torch.nn.Linear(512, LABELS)

    def forward(self, text: Dict[str, Dict[str, torch.Tensor]], mask: torch.Tensor) -> torch.Tensor:
        return self.projection(self.encoder(self.embedder(text), mask))


def make_batches(length: int, count: int, full_model: bool, device: torch.device, seed: int) -> List[Tuple]:
    """`count` distinct batches: (inputs, tags, mask), inputs = logits or a text field dict."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        mask = torch.ones(BATCH, length, dtype=torch.bool)
        tags = torch.randint(0, LABELS, (BATCH, length), generator=generator)
        if full_model:
            words = torch.randint(1, VOCABULARY, (BATCH, length), generator=generator)
            chars = torch.randint(1, CHARACTERS, (BATCH, length, WORD_LENGTH), generator=generator)
            inputs = {
                "tokens": {"tokens": words.to(device)},
                "token_characters": {"token_characters": chars.to(device)},
            }
        else:
            inputs = (torch.randn(BATCH, length, LABELS, generator=generator) * 3).to(device)
        batches.append((inputs, tags.to(device), mask.to(device)))
    return batches


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(contender: Contender, encoder, mode: str, batch: Tuple) -> None:
    inputs, tags, mask = batch
    if mode == "train":
        if encoder is None:
            inputs = inputs.detach().requires_grad_()
        logits = inputs if encoder is None else encoder(inputs, mask)
        contender.train(logits, tags, mask).backward()
    else:
        with torch.no_grad():
            logits = inputs if encoder is None else encoder(inputs, mask)
            contender.predict(logits, mask)


def measure(
    all_contenders: List[Contender],
    encoder,
    mode: str,
    batches: List[Tuple],
    timed_batches: int,
    rounds: int,
    warmup: int,
    device: torch.device,
) -> Dict[str, Dict[str, float]]:
    """
    Seconds per batch of each contender (`median` and `mean` over the timed batches); the timed
    batches are interleaved over `rounds` rounds. Each batch is timed on its own, so that the
    median ignores the stalls a concurrent process causes.
    """
    rounds = max(1, min(rounds, timed_batches))
    per_round = [timed_batches // rounds + (r < timed_batches % rounds) for r in range(rounds)]
    parameters = [p for c in all_contenders for p in c.module.parameters()]
    if encoder is not None:
        parameters += list(encoder.parameters())
    times: Dict[str, List[float]] = {c.name: [] for c in all_contenders}
    for contender in all_contenders:
        for i in range(warmup):
            step(contender, encoder, mode, batches[i % len(batches)])
    position = 0
    for count in per_round:
        for contender in all_contenders:
            for parameter in parameters:
                parameter.grad = None
            for i in range(count):
                synchronize(device)
                start = time.perf_counter()
                step(contender, encoder, mode, batches[(position + i) % len(batches)])
                synchronize(device)
                times[contender.name].append(time.perf_counter() - start)
        position += count
    return {name: {"median": statistics.median(t), "mean": statistics.fmean(t)} for name, t in times.items()}


def format_table(results: Dict, names: List[str], settings: List[str], lengths: List[int], sentences: int) -> str:
    lines = []
    for setting in settings:
        timed = results["timed_sentences"][setting]
        title = "Decoder only (random logits)" if setting == "decoder" else "Full model (word + char CNN + BiLSTM 256)"
        lines.append(f"\n### {title}")
        lines.append(
            f"\nMedian ms per batch of {BATCH} and sentences/s; {timed:,} sentences actually timed per cell"
            + ("" if timed >= sentences else f" (the time for {sentences:,} sentences is extrapolated from them)")
            + ".\n"
        )
        cells = [f" {m} {n} ms | {m} {n} sent/s |" for m in ("train", "predict") for n in lengths]
        lines.append("| decoder |" + "".join(cells))
        lines.append("|---" * (1 + 4 * len(lengths)) + "|")
        for name in names:
            row = f"| {name} |"
            for mode in ("train", "predict"):
                for length in lengths:
                    seconds = results[setting][mode][str(length)][name]["median"]
                    row += f" {seconds * 1e3:.2f} | {BATCH / seconds:,.0f} |"
            lines.append(row)
    for reference in REFERENCES:
        if reference not in names:
            continue
        lines.append(f"\n### Speed-up over {reference} (× faster; Table 1 layout)\n")
        columns = [(m, n, s) for m in ("train", "predict") for n in lengths for s in settings]
        lines.append(
            "| decoder |"
            + "".join(f" {m} {n} {'All' if s == 'full' else 'Dec.'} |" for m, n, s in columns)
        )
        lines.append("|---" * (1 + len(columns)) + "|")
        for name in names:
            row = f"| {name} |"
            for mode, length, setting in columns:
                cell = results[setting][mode][str(length)]
                row += f" {cell[reference]['median'] / cell[name]['median']:.1f}× |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def plot(curve: Dict[str, Dict[str, float]], lengths: List[int], path: str, device: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, seconds in curve.items():
        axes.plot(lengths, [BATCH / seconds[str(n)] for n in lengths], marker="o", label=name)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(lengths)
    axes.set_xticklabels([str(n) for n in lengths])
    axes.set_xlabel("sentence length (words)")
    axes.set_ylabel("sentences / s (log scale)")
    axes.set_title(f"Decoder-only prediction, batch {BATCH}, {LABELS} labels\n{device}", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default: 2)")
    parser.add_argument("--sentences", type=int, default=10000, help="sentences per decoder-only cell (default: 10000)")
    parser.add_argument(
        "--full-sentences", type=int, default=None, help="sentences actually timed per full-model cell (default: 256 "
        "on CPU, --sentences on GPU); the time for --sentences is extrapolated"
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--curve-lengths", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--curve-sentences", type=int, default=640, help="sentences per point of the plot")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved timing rounds (default: 4)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches per contender and cell")
    parser.add_argument("--no-full-model", action="store_true", help="time the decoders alone only")
    parser.add_argument("--constrained", action="store_true", help="add the BIOES-constrained decoders (AIN-1O parallel and sequential, MaxEnt, our CRF)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few sentences everywhere")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    args = parser.parse_args()

    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.sentences, args.full_sentences, args.curve_sentences, args.rounds = 320, 32, 64, 2
    full_sentences = args.full_sentences or (args.sentences if device.type == "cuda" else 256)
    settings = ["decoder"] if args.no_full_model else ["decoder", "full"]
    all_contenders = contenders(device, args.constrained)
    names = [c.name for c in all_contenders]
    encoder = Encoder().to(device)
    description = (
        f"{device.type}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f", {args.threads} threads")
        + f", torch {torch.__version__}, Python {platform.python_version()}"
    )
    print(f"# Decoder speed: batch {BATCH}, {LABELS} labels, {description}", flush=True)

    results: Dict = {"device": description, "timed_sentences": {}, "sentences": args.sentences}
    for setting in settings:
        sentences = args.sentences if setting == "decoder" else min(full_sentences, args.sentences)
        batch_count = math.ceil(sentences / BATCH)
        results["timed_sentences"][setting] = batch_count * BATCH
        results[setting] = {"train": {}, "predict": {}}
        for length in args.lengths:
            pool = make_batches(length, min(batch_count, 16), setting == "full", device, seed=length)
            for mode in ("train", "predict"):
                begun = time.perf_counter()
                seconds = measure(
                    all_contenders, encoder if setting == "full" else None, mode, pool, batch_count,
                    args.rounds, args.warmup, device,
                )
                results[setting][mode][str(length)] = seconds
                summary = ", ".join(f"{n} {s['median'] * 1e3:.2f}" for n, s in seconds.items())
                elapsed = time.perf_counter() - begun
                print(f"{setting} {mode} {length} words ({elapsed:.0f} s): median ms/batch {summary}", flush=True)

    curve: Dict[str, Dict[str, float]] = {name: {} for name in names}
    for length in args.curve_lengths:
        pool = make_batches(length, 4, False, device, seed=1000 + length)
        count = math.ceil(args.curve_sentences / BATCH)
        seconds = measure(all_contenders, None, "predict", pool, count, args.rounds, args.warmup, device)
        for name in names:
            curve[name][str(length)] = seconds[name]["median"]
        rates = ", ".join(f"{n} {BATCH / s['median']:,.0f}" for n, s in seconds.items())
        print(f"curve {length} words: sent/s {rates}", flush=True)
    results["curve"] = curve

    table = format_table(results, names, settings, args.lengths, args.sentences)
    # the thread settings that change the timings are part of the command
    settings_env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ)
    command = (f"env {settings_env} " if settings_env else "") + "python benchmarks/decoder_speed.py " + " ".join(sys.argv[1:])
    report = f"# Decoder speed\n\nBatch {BATCH}, {LABELS} labels, {description}. Command: `{command.strip()}`\n{table}"
    print(report)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "decoder_speed.md"), "w") as handle:
        handle.write(report)
    with open(os.path.join(args.out, "decoder_speed.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    plot(curve, args.curve_lengths, os.path.join(args.out, "decoder_speed.png"), description)
    print(f"wrote {args.out}/decoder_speed.md, .json and .png")


if __name__ == "__main__":
    main()
