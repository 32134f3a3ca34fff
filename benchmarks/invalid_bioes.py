"""
How often does AIN's plain per-token argmax produce an invalid BIOES sequence on real NER data?

AIN decodes each position independently (`argmax Qᵢᴹ`), so nothing forces `B-PER` to be followed
by `I-PER` / `E-PER`. This script trains a small tagger with the `mfvi` decoder (and, for
reference, `maxent`) on CoNLL-2003 English for a few minutes on CPU, then counts on the dev set
the sentences and label transitions that break BIOES, and the span F1 of three decodings of the
same model: plain argmax; the parallel repair of the argmax (`span_repair`, what the decoder's
`decode` does when built with `constraints` and `span_labels`, the default for span encodings);
and Viterbi over `log Qᴹ` restricted to valid transitions (`valid_decoding: "viterbi"`).

    .venv/bin/python benchmarks/invalid_bioes.py \\
        --train ../shared/data/conll2003_en/eng.train --dev ../shared/data/conll2003_en/eng.testa \\
        --embeddings ../shared/data/embeddings/glove.6B.50d.subset.txt

With `--archive`, it decodes a trained tagger (an `allennlp train` archive of the `ain_tagger`
with `mfvi` or `maxent`) instead, on every file of `--dev` (as the archive's reader reads it), the
same three ways (the decoder's `constrain_decoding` / `valid_decoding`):

    .venv/bin/python benchmarks/invalid_bioes.py --archive RUN/model.tar.gz \
        --dev ../shared/data/conll2003_en/eng.testa ../shared/data/conll2003_en/eng.testb

The data files are IOB1 (CoNLL-2003); they are converted to BIOES in memory and never copied.
The tagger: GloVe 50d word embedding (lowercased) + a casing embedding + a char CNN → BiLSTM →
linear → decoder; Adam, batch 32, stopped after `--minutes` per decoder. Prints a markdown table
and writes it to `benchmarks/out/invalid_bioes.md`.
"""
import argparse
import os
import random
import sys
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from allennlp_ain.data.dataset_readers import ConllReader  # noqa: E402
from allennlp_ain.modules.decoders import MaxEnt, MeanField, SequenceDecoder  # noqa: E402
from allennlp_ain.modules.decoders.linear_chain import viterbi  # noqa: E402
from allennlp_ain.modules.decoders.span_repair import SpanRepair  # noqa: E402
from allennlp_ain.tag_schemes import allowed_transitions, invalid_transitions, span_labels  # noqa: E402
from allennlp_ain.training.metrics import SpanF1  # noqa: E402


# ---------------------------------------------------------------------------------------------
# BIOES validity, span F1 and data (the rules live in `allennlp_ain.tag_schemes`)


def count_invalid(sequences: Iterable[Sequence[str]]) -> Dict[str, int]:
    """Sentences, invalid sentences, transitions (incl. START / END) and invalid transitions."""
    counts = {"sentences": 0, "invalid_sentences": 0, "transitions": 0, "invalid_transitions": 0}
    for tags in sequences:
        errors = invalid_transitions(list(tags), "BIOES")
        counts["sentences"] += 1
        counts["invalid_sentences"] += errors > 0
        counts["transitions"] += len(tags) + 1
        counts["invalid_transitions"] += errors
    return counts


def span_f1(gold: List[List[str]], predicted: List[List[str]]) -> float:
    """Span F1 in percent, spans read leniently (as `conlleval` does) by `SpanF1`."""
    metric = SpanF1({})
    for gold_tags, predicted_tags in zip(gold, predicted):
        metric.count(predicted_tags, gold_tags)
    return 100 * metric.get_metric()["f1-measure-overall"]


def read_conll2003(path: str) -> List[Tuple[List[str], List[str]]]:
    """(tokens, BIOES tags) per sentence of an IOB1 CoNLL-2003 file (`token POS chunk NER`)."""
    reader = ConllReader(tag_scheme="IOB1", convert_to="BIOES")
    return [(instance["metadata"]["words"], list(instance["tags"].labels)) for instance in reader.read(path)]


def casing(word: str) -> int:
    if word.isdigit():
        return 1
    if any(c.isdigit() for c in word):
        return 2
    if word.isupper():
        return 3
    if word[:1].isupper():
        return 4
    if word.islower():
        return 5
    return 6


class Tagger(torch.nn.Module):
    def __init__(self, words: int, characters: int, decoder: SequenceDecoder, vectors: Optional[torch.Tensor]) -> None:
        super().__init__()
        self.words = torch.nn.Embedding(words, 50, padding_idx=0)
        if vectors is not None:
            self.words.weight.data.copy_(vectors)
        self.casing = torch.nn.Embedding(7, 8, padding_idx=0)
        self.characters = torch.nn.Embedding(characters, 16, padding_idx=0)
        self.char_cnn = torch.nn.Conv1d(16, 32, kernel_size=3, padding=1)
        self.lstm = torch.nn.LSTM(50 + 8 + 32, 128, batch_first=True, bidirectional=True)
        self.dropout = torch.nn.Dropout(0.3)
        self.projection = torch.nn.Linear(256, decoder.num_labels)
        self.decoder = decoder

    def forward(self, words, cases, chars, mask):
        batch, length, width = chars.shape
        char_vectors = self.characters(chars.view(-1, width)).transpose(1, 2)
        char_features = self.char_cnn(char_vectors).max(dim=2).values.view(batch, length, -1)
        features = torch.cat([self.words(words), self.casing(cases), char_features], dim=-1)
        lengths = mask.sum(1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            self.dropout(features), lengths, batch_first=True, enforce_sorted=False
        )
        encoded, _ = self.lstm(packed)
        encoded, _ = torch.nn.utils.rnn.pad_packed_sequence(encoded, batch_first=True, total_length=length)
        return self.projection(self.dropout(encoded))


def tensorise(batch, word_index, char_index, label_index):
    length = max(len(tokens) for tokens, _ in batch)
    width = min(max(len(t) for tokens, _ in batch for t in tokens), 20)
    words = torch.zeros(len(batch), length, dtype=torch.long)
    cases = torch.zeros(len(batch), length, dtype=torch.long)
    chars = torch.zeros(len(batch), length, width, dtype=torch.long)
    tags = torch.zeros(len(batch), length, dtype=torch.long)
    for b, (tokens, labels) in enumerate(batch):
        for i, (token, label) in enumerate(zip(tokens, labels)):
            words[b, i] = word_index.get(token.lower(), 1)
            cases[b, i] = casing(token)
            for j, c in enumerate(token[:width]):
                chars[b, i, j] = char_index.get(c, 1)
            tags[b, i] = label_index[label]
    mask = words != 0
    return words, cases, chars, tags, mask


def load_vectors(path: Optional[str], word_index: Dict[str, int]) -> Optional[torch.Tensor]:
    if path is None:
        return None
    vectors = torch.randn(len(word_index) + 2, 50) * 0.1
    vectors[0] = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip().split(" ")
            if fields[0] in word_index and len(fields) == 51:
                vectors[word_index[fields[0]]] = torch.tensor([float(x) for x in fields[1:]])
    return vectors


# ---------------------------------------------------------------------------------------------


ARCHIVE_DECODINGS = {
    "argmax": {"model.constrain_decoding": False},
    "parallel valid decoding": {"model.constrain_decoding": True, "model.decoder.valid_decoding": "parallel"},
    "constrained Viterbi over log Q": {"model.constrain_decoding": True, "model.decoder.valid_decoding": "viterbi"},
}


def decode_archive(archive_path: str, files: List[str], out: str) -> None:
    """The three decodings of a trained archive on each file: invalid sentences and span F1."""
    import json

    import allennlp_ain  # noqa: F401  (registers the plugin's classes)
    from allennlp.models.archival import load_archive

    lines = [
        "| file | decoding | invalid sentences | invalid transitions | span F1 |",
        "|---|---|---|---|---|",
    ]
    for path in files:
        for decoding, overrides in ARCHIVE_DECODINGS.items():
            archive = load_archive(archive_path, overrides=json.dumps(overrides))
            model = archive.model.eval()
            instances = list(archive.dataset_reader.read(path))
            predicted = []
            with torch.no_grad():
                for i in range(0, len(instances), 64):
                    predicted.extend(output["tags"] for output in model.forward_on_instances(instances[i : i + 64]))
            gold = [list(instance["tags"].labels) for instance in instances]
            counts = count_invalid(predicted)
            share = 100 * counts["invalid_sentences"] / counts["sentences"]
            row = (
                f"| {os.path.basename(path)} | {decoding} | {counts['invalid_sentences']} / {counts['sentences']} "
                f"({share:.2f}%) | {counts['invalid_transitions']} / {counts['transitions']} | {span_f1(gold, predicted):.2f} |"
            )
            lines.append(row)
            print(row, flush=True)
    report = f"# Three decodings of {archive_path}\n\n" + "\n".join(lines) + "\n"
    print(report)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "invalid_bioes_archive.md"), "w") as handle:
        handle.write(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", help="CoNLL-2003 training file (IOB1); not with --archive")
    parser.add_argument("--dev", required=True, nargs="+", help="CoNLL-2003 dev file (IOB1), e.g. eng.testa; with --archive, any number of files")
    parser.add_argument("--archive", help="decode this trained archive instead of training a tagger")
    parser.add_argument("--embeddings", default=None, help="GloVe 50d text file (optional)")
    parser.add_argument("--decoders", nargs="+", default=["mfvi", "maxent"], choices=["mfvi", "mfvi2", "maxent"])
    parser.add_argument("--minutes", type=float, default=3.5, help="training time per decoder (default: 3.5)")
    parser.add_argument("--epochs", type=int, default=10, help="at most this many epochs (default: 10)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.archive:
        decode_archive(args.archive, args.dev, args.out)
        return
    if args.train is None or len(args.dev) != 1:
        parser.error("without --archive, give --train and one --dev file")
    args.dev = args.dev[0]

    train, dev = read_conll2003(args.train), read_conll2003(args.dev)
    labels = sorted({t for _, tags in train for t in tags}, key=lambda t: (t != "O", t[2:], t))
    label_index = {label: i for i, label in enumerate(labels)}
    words = sorted({t.lower() for tokens, _ in train for t in tokens})
    word_index = {w: i + 2 for i, w in enumerate(words)}  # 0 padding, 1 unknown
    char_index = {c: i + 2 for i, c in enumerate(sorted({c for tokens, _ in train for t in tokens for c in t}))}
    vectors = load_vectors(args.embeddings, word_index)
    allowed = torch.zeros(len(labels) + 2, len(labels) + 2, dtype=torch.bool)  # START = L, END = L + 1
    for i, j in allowed_transitions("BIOES", dict(enumerate(labels))):
        allowed[i, j] = True
    n = len(labels)
    masks = (allowed[:n, :n], allowed[n, :n], allowed[:n, n + 1])  # (transition, start, end)
    penalties = [(~a).float().masked_fill(~a, float("-inf")) for a in masks]  # 0 where allowed
    repair = SpanRepair(span_labels("BIOES", dict(enumerate(labels))))
    print(f"{len(train)} training and {len(dev)} dev sentences, {len(labels)} labels", flush=True)

    dev_batches = [
        tensorise(dev[i : i + 64], word_index, char_index, label_index) for i in range(0, len(dev), 64)
    ]
    gold = [tags for _, tags in dev]
    rows = []
    for name in args.decoders:
        torch.manual_seed(args.seed)
        random.seed(args.seed)
        decoder = MaxEnt(len(labels)) if name == "maxent" else MeanField(len(labels), order=2 if name == "mfvi2" else 1)
        model = Tagger(len(word_index) + 2, len(char_index) + 2, decoder, vectors)
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        began, epoch, steps = time.perf_counter(), 0, 0
        while epoch < args.epochs and time.perf_counter() - began < args.minutes * 60:
            order = list(range(len(train)))
            random.shuffle(order)
            model.train()
            for i in range(0, len(order), 32):
                if time.perf_counter() - began > args.minutes * 60:
                    break
                w, c, ch, t, m = tensorise([train[j] for j in order[i : i + 32]], word_index, char_index, label_index)
                loss = decoder.loss(model(w, c, ch, m), t, m)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                steps += 1
            epoch += 1
        trained = time.perf_counter() - began
        model.eval()
        plain, parallel, repaired = [], [], []
        with torch.no_grad():
            for w, c, ch, _, m in dev_batches:
                logits = model(w, c, ch, m)
                if isinstance(decoder, MeanField):
                    log_q = torch.log_softmax(decoder.final_scores(logits, m), dim=-1)
                else:
                    log_q = torch.log_softmax(logits, dim=-1)
                argmax_tags = log_q.argmax(-1)
                parallel_tags = repair(log_q, m)
                viterbi_tags = viterbi(log_q, m, *penalties)[0]
                for b in range(m.size(0)):
                    n = int(m[b].sum())
                    plain.append([labels[i] for i in argmax_tags[b, :n].tolist()])
                    parallel.append([labels[i] for i in parallel_tags[b, :n].tolist()])
                    repaired.append([labels[i] for i in viterbi_tags[b, :n].tolist()])
        decodings = (("argmax", plain), ("parallel repair of the argmax", parallel), ("constrained Viterbi over log Q", repaired))
        for decoding, predicted in decodings:
            counts = count_invalid(predicted)
            rows.append((name, f"{steps} steps ({steps * 32 / len(train):.1f} epochs), {trained:.0f} s", decoding, counts, span_f1(gold, predicted)))
            print(rows[-1], flush=True)

    lines = [
        "| decoder | training | decoding | invalid sentences | invalid transitions | span F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, trained, decoding, counts, f1 in rows:
        share = 100 * counts["invalid_sentences"] / counts["sentences"]
        sentences = f"{counts['invalid_sentences']} / {counts['sentences']} ({share:.2f}%)"
        transitions = f"{counts['invalid_transitions']} / {counts['transitions']}"
        lines.append(f"| {name} | {trained} | {decoding} | {sentences} | {transitions} | {f1:.2f} |")
    report = f"# Invalid BIOES sequences on {os.path.basename(args.dev)}\n\n" + "\n".join(lines) + "\n"
    print(report)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "invalid_bioes.md"), "w") as handle:
        handle.write(report)


if __name__ == "__main__":
    main()
