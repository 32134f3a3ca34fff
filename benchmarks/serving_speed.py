"""
Serving speed of the whole tagger on the CPU (issue 19): from a list of word lists to their tag
strings, side by side in one run, on the same inputs:

(a) a BiLSTM tagger with AllenNLP's `ConditionalRandomField`, run as allennlp-models' `crf_tagger`
    runs at prediction (`forward`: embedder → encoder → `TimeDistributed(Linear)` →
    `crf.viterbi_tags(logits, mask, top_k=1)`; `make_output_human_readable`), with the BIOES
    constraints `crf_tagger` builds for a `label_encoding`, and the weights of (b)'s CRF model;
(b) our PyTorch `ain_tagger` with the `crf` decoder, and with AIN-1O (`mfvi`, order 1, 3
    iterations), both with BIOES `constrain_decoding` (the default for a label encoding; AIN-1O
    decodes with the parallel valid decoding, its default);
(c) that AIN-1O tagger exported to ONNX (`allennlp_ain.export.export_model`) and run by
    `allennlp_ain_onnx.ExportedTagger` (numpy + onnxruntime);
(d) the same export with int8 weights (onnxruntime dynamic quantization).

Every contender starts from word lists and ends with tag strings, as it serves them:
(a) the reader's `text_to_instance` and AllenNLP's `Predictor.predict_batch_instance` (token
indexing, padding, tensors, `forward_on_instances`, label strings, `sanitize`); (b)
`AinTaggerPredictor.predict_batch_json([{"tokens": words}, ...])` (the same steps, plus the
decoder's marginals, the confidences and the spans that our predictor returns); (c), (d)
`ExportedTagger.tag_batch` (numpy indexing and padding, onnxruntime, label strings, confidences,
spans). Reading the file and encoding the output as JSON are not timed.

Measured: sentences per second on batches of random words from the vocabulary (32 and 128
words, batch 32) and on a real file as it is (`--data`, read by the model's dataset reader, in
its order, batches of 32 consecutive sentences), and the latency of batches of one sentence (p50,
p99) over sentences drawn from the file (random lengths 1 to 40 without one). The timed batches
of all contenders are interleaved (in rounds for the random batches, batch by batch for the file
and the single sentences), so a background load slows all alike; ratios are side by side.

Models: untrained, built from `training_configs/conll03_ner.jsonnet` (the lib's `bilstm` encoder:
word embedding 50 + character CNN 50 → BiLSTM 256 per direction) over a vocabulary of
`--vocabulary` words (the words of `--data` by frequency, then made-up words) and the 17 BIOES
labels of CoNLL-2003 NER; speed does not depend on training. Or, with `--archive-crf A
--archive-ain B`, trained `ain_tagger` archives: A with the `crf` decoder for (a) and (b), B with
`mfvi` for (b), (c) and (d).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/serving_speed.py --data ../shared/data/conll2003_en/eng.testa
    .venv/bin/python benchmarks/serving_speed.py --quick --data fixtures/conll/conll2003_sample.txt

Writes `benchmarks/out/serving_speed.md` (the tables) and `serving_speed.json` (every timing).
"""
import argparse
import copy
import json
import os
import platform
import random
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allennlp.common import Params  # noqa: E402
from allennlp.data import DatasetReader, TextFieldTensors, Vocabulary  # noqa: E402
from allennlp.models import Model  # noqa: E402
from allennlp.models.archival import load_archive  # noqa: E402
from allennlp.modules import ConditionalRandomField, TimeDistributed  # noqa: E402
from allennlp.nn import util  # noqa: E402
from allennlp.predictors import Predictor  # noqa: E402

import allennlp_ain  # noqa: E402,F401  (registers the components)
from allennlp_ain.export import export_model  # noqa: E402
from allennlp_ain.modules.decoders import LinearChainCrf, MeanField  # noqa: E402
from allennlp_ain.predictors import AinTaggerPredictor  # noqa: E402
from allennlp_ain.tag_schemes import allowed_transitions  # noqa: E402
from allennlp_ain_onnx import ExportedTagger  # noqa: E402

CONFIG = ROOT / "training_configs" / "conll03_ner.jsonnet"
LABELS = ["O"] + [f"{prefix}-{kind}" for kind in ("PER", "LOC", "ORG", "MISC") for prefix in "BIES"]
VOCABULARY = 20000  # words of the untrained models
# without a file, the latency sentences have random lengths in this range
RANDOM_LENGTHS = (1, 40)

Sentences = List[List[str]]
Tagger = Tuple[Model, DatasetReader]


class AllennlpCrfTagger(Model):
    """
    allennlp-models' `crf_tagger` at prediction (its `forward` without gold tags, and its
    `make_output_human_readable`), over given modules: allennlp-models is not a dependency of
    this project. Not registered; built by `allennlp_crf_tagger`.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: torch.nn.Module,
        encoder: torch.nn.Module,
        feedforward: Optional[torch.nn.Module],
        projection: torch.nn.Linear,
        crf: ConditionalRandomField,
        label_namespace: str = "labels",
    ) -> None:
        super().__init__(vocab)
        self.text_field_embedder = text_field_embedder
        self.encoder = encoder
        self._feedforward = feedforward
        self.tag_projection_layer = TimeDistributed(projection)
        self.crf = crf
        self.label_namespace = label_namespace
        self.top_k = 1

    def forward(  # type: ignore
        self, tokens: TextFieldTensors, metadata: Optional[List[Dict[str, Any]]] = None, **kwargs
    ) -> Dict[str, Any]:
        embedded_text_input = self.text_field_embedder(tokens)
        mask = util.get_text_field_mask(tokens)
        encoded_text = self.encoder(embedded_text_input, mask)
        if self._feedforward is not None:
            encoded_text = self._feedforward(encoded_text)
        logits = self.tag_projection_layer(encoded_text)
        best_paths = self.crf.viterbi_tags(logits, mask, top_k=self.top_k)
        predicted_tags = [x[0][0] for x in best_paths]
        output: Dict[str, Any] = {"logits": logits, "mask": mask, "tags": predicted_tags}
        if metadata is not None:
            output["words"] = [x["words"] for x in metadata]
        return output

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        output_dict["tags"] = [
            [self.vocab.get_token_from_index(tag, namespace=self.label_namespace) for tag in tags]
            for tags in output_dict["tags"]
        ]
        return output_dict


def allennlp_crf_tagger(model: Model) -> AllennlpCrfTagger:
    """(a): a copy of `model`'s (an `ain_tagger` with the `crf` decoder) weights in `AllennlpCrfTagger`."""
    model = copy.deepcopy(model)
    head = model.head
    if not isinstance(head.decoder, LinearChainCrf):
        raise ValueError(f"(a) takes an ain_tagger with the crf decoder, not {type(head.decoder).__name__}")
    labels = dict(enumerate(head.labels))
    constraints = allowed_transitions(head.label_encoding, labels) if head.decoder.constrained else None
    crf = ConditionalRandomField(len(labels), constraints, include_start_end_transitions=True)
    with torch.no_grad():
        crf.transitions.copy_(head.decoder.transitions)
        crf.start_transitions.copy_(head.decoder.start_transitions)
        crf.end_transitions.copy_(head.decoder.end_transitions)
    modules = (model.text_field_embedder, model.encoder, head.feedforward, head.projection, crf)
    return AllennlpCrfTagger(model.vocab, *modules, label_namespace=head.label_namespace).eval()


class Contender:
    """A tagger behind one call: `serve(sentences)` → their tags (label strings), as it serves them."""

    def __init__(self, name: str, serve: Callable[[Sentences], Sentences]) -> None:
        self.name, self.serve = name, serve


def decoder_name(model: Model) -> str:
    decoder = model.head.decoder
    if isinstance(decoder, MeanField):
        return "AIN-1O" if decoder.order == 1 else "AIN-F2O"
    return "crf" if isinstance(decoder, LinearChainCrf) else type(decoder).__name__


def decoding(model: Model) -> str:
    """How `model` decodes, for the report: its decoder and constraints."""
    decoder = model.head.decoder
    if not decoder.constrained:
        return f"{decoder_name(model)}, unconstrained"
    if isinstance(decoder, MeanField):
        how = "parallel valid decoding" if decoder.span_repair is not None else "sequential Viterbi pass"
        return f"{decoder_name(model)}, {model.head.label_encoding}-constrained ({how})"
    return f"{decoder_name(model)}, {model.head.label_encoding}-constrained Viterbi"


def build_contenders(crf: Tagger, ain: Tagger, exported: Path, threads: int) -> List[Contender]:
    """(a), (b) crf, (b) AIN, (c), (d) over the two models; `exported`: the AIN model's export, with its int8 graph."""
    crf_model, crf_reader = crf
    ain_model, ain_reader = ain
    allennlp_predictor = Predictor(allennlp_crf_tagger(crf_model), crf_reader)
    crf_predictor = AinTaggerPredictor(crf_model, crf_reader)
    ain_predictor = AinTaggerPredictor(ain_model, ain_reader)
    onnx = ExportedTagger(exported, threads=threads)
    int8 = ExportedTagger(exported, quantized=True, threads=threads)
    name = decoder_name(ain_model)

    def allennlp(sentences: Sentences) -> Sentences:
        instances = [crf_reader.text_to_instance(words) for words in sentences]
        return [output["tags"] for output in allennlp_predictor.predict_batch_instance(instances)]

    def ours(predictor: AinTaggerPredictor) -> Callable[[Sentences], Sentences]:
        return lambda sentences: [o["tags"] for o in predictor.predict_batch_json([{"tokens": w} for w in sentences])]

    def exported_tagger(tagger: ExportedTagger) -> Callable[[Sentences], Sentences]:
        return lambda sentences: [o["tags"] for o in tagger.tag_batch(sentences, batch_size=len(sentences))]

    return [
        Contender("(a) AllenNLP crf_tagger", allennlp),
        Contender("(b) ain_tagger crf", ours(crf_predictor)),
        Contender(f"(b) ain_tagger {name}", ours(ain_predictor)),
        Contender(f"(c) ONNX {name}", exported_tagger(onnx)),
        Contender(f"(d) ONNX int8 {name}", exported_tagger(int8)),
    ]


# which contender's tags each is compared with: the same weights, another implementation
def references(names: List[str]) -> Dict[str, str]:
    return {names[1]: names[0], names[3]: names[2], names[4]: names[2]}


def config(decoder: str, hidden: Optional[int] = None) -> Params:
    """`conll03_ner.jsonnet` with the `bilstm` encoder, `decoder` (a name of the lib's), no GloVe, on the CPU."""
    ext_vars = {"TRAIN_DATA": "", "DEV_DATA": "", "TEST_DATA": "", "GLOVE": "", "CUDA_DEVICE": "-1"}
    overrides = {} if hidden is None else {"model.encoder.hidden_size": hidden}
    ext_vars.update(ENCODER="bilstm", DECODER=decoder)
    return Params.from_file(str(CONFIG), params_overrides=json.dumps(overrides), ext_vars=ext_vars)


def untrained_models(
    vocabulary_size: int, hidden: Optional[int], data: Sentences, seed: int = 0
) -> Tuple[Tagger, Tagger]:
    """
    `(crf model, reader), (mfvi1 model, reader)` of `conll03_ner.jsonnet` with the `bilstm` encoder
    (`hidden`: its size per direction, default the lib's 256), untrained, over a vocabulary of
    `vocabulary_size` words (`data`'s lowercased by frequency, then made-up ones of 3 to 10
    letters), their characters and the 17 BIOES labels. Both models get the same embedder,
    encoder and projection weights; the decoders' weights are drawn from N(0, 1) so that the
    transitions matter.
    """
    counts = Counter(word.lower() for words in data for word in words)
    words = [word for word, _ in counts.most_common(vocabulary_size)]
    known = set(words)
    rng = random.Random(seed)
    while len(words) < vocabulary_size:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10)))
        if word not in known:
            known.add(word)
            words.append(word)
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(words, "tokens")
    characters = {c for word in words for c in word} | {c for sentence in data for word in sentence for c in word}
    vocab.add_tokens_to_namespace(sorted(characters), "token_characters")
    vocab.add_tokens_to_namespace(LABELS, "labels")
    built = []
    for decoder in ("crf", "mfvi1"):
        params = config(decoder, hidden)
        reader = DatasetReader.from_params(params.pop("dataset_reader"))
        torch.manual_seed(seed)
        model = Model.from_params(vocab=vocab, params=params.pop("model"))
        generator = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for parameter in model.head.decoder.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        built.append((model.eval(), reader))
    return built[0], built[1]


def archived_models(crf_archive: str, ain_archive: str) -> Tuple[Tagger, Tagger]:
    loaded = []
    for path, wanted in ((crf_archive, LinearChainCrf), (ain_archive, MeanField)):
        archive = load_archive(path, cuda_device=-1)
        model = archive.model.eval()
        if type(model).__name__ != "AinTagger" or not isinstance(model.head.decoder, wanted):
            decoder = "crf" if wanted is LinearChainCrf else "mfvi"
            raise SystemExit(f"{path}: expected an ain_tagger with the {decoder} decoder")
        loaded.append((model, archive.dataset_reader))
    return loaded[0], loaded[1]


def vocabulary_words(model: Model) -> List[str]:
    """The words of `model`'s `tokens` namespace, without padding and OOV."""
    vocab = model.vocab
    skip = {vocab._padding_token, vocab._oov_token}
    return [w for w in vocab.get_index_to_token_vocabulary("tokens").values() if w not in skip]


def random_batches(words: Sequence[str], length: int, batch_size: int, count: int, seed: int) -> List[Sentences]:
    rng = random.Random(seed)
    return [[[rng.choice(words) for _ in range(length)] for _ in range(batch_size)] for _ in range(count)]


def rotated(contenders: List[Contender], shift: int) -> List[Contender]:
    shift %= len(contenders)
    return contenders[shift:] + contenders[:shift]


def time_rounds(
    contenders: List[Contender], batches: List[Sentences], rounds: int, warmup: int
) -> Dict[str, List[float]]:
    """
    Seconds per batch of each contender: `batches` are split into `rounds` rounds, and in each round
    every contender runs the round's batches in turn (the first contender changes from round to round).
    """
    rounds = max(1, min(rounds, len(batches)))
    per_round = [len(batches) // rounds + (r < len(batches) % rounds) for r in range(rounds)]
    for contender in contenders:
        for i in range(warmup):
            contender.serve(batches[i % len(batches)])
    times: Dict[str, List[float]] = {c.name: [] for c in contenders}
    position = 0
    for number, count in enumerate(per_round):
        for contender in rotated(contenders, number):
            for batch in batches[position : position + count]:
                start = time.perf_counter()
                contender.serve(batch)
                times[contender.name].append(time.perf_counter() - start)
        position += count
    return times


def time_each(
    contenders: List[Contender], batches: List[Sentences], passes: int, warmup: int
) -> Dict[str, List[List[float]]]:
    """Seconds of each contender on every batch, `[pass][batch]`: every batch is run by all contenders in turn."""
    for contender in contenders:
        for i in range(warmup):
            contender.serve(batches[i % len(batches)])
    times: Dict[str, List[List[float]]] = {c.name: [] for c in contenders}
    for number in range(passes):
        for contender in contenders:
            times[contender.name].append([])
        for index, batch in enumerate(batches):
            for contender in rotated(contenders, number + index):
                start = time.perf_counter()
                contender.serve(batch)
                times[contender.name][-1].append(time.perf_counter() - start)
    return times


def agreement(contenders: List[Contender], batches: List[Sentences]) -> Dict[str, Dict[str, Any]]:
    """Per compared contender: its reference and how many sentences and tokens get the reference's tags."""
    names = [c.name for c in contenders]
    tags = {c.name: [t for batch in batches for t in c.serve(batch)] for c in contenders}
    result = {}
    for name, reference in references(names).items():
        pairs = list(zip(tags[name], tags[reference]))
        result[name] = {
            "reference": reference,
            "sentences": len(pairs),
            "equal_sentences": sum(a == b for a, b in pairs),
            "tokens": sum(len(b) for _, b in pairs),
            "equal_tokens": sum(x == y for a, b in pairs for x, y in zip(a, b)),
        }
    return result


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_report(results: Dict[str, Any]) -> str:
    names = results["contenders"]
    reference = names[0]
    lengths = results["lengths"]
    batch = results["batch_size"]
    setup = results["setup"]
    lines = [
        "# Serving speed (CPU)",
        "",
        f"Command: `{results['command']}`",
        "",
        f"torch {setup['torch']}, onnxruntime {setup['onnxruntime']}, AllenNLP {setup['allennlp']}, "
        f"Python {setup['python']}; "
        f"{setup['cpu']} ({setup['cpu_count']} logical CPUs); {setup['threads']} thread(s) (torch.set_num_threads and "
        f"onnxruntime intra_op_num_threads; OMP_NUM_THREADS={setup['omp_num_threads']}).",
        "",
        f"Models: {results['models']}",
        "",
        "Timed for every contender: from word lists to tag strings as it serves them. (a) the reader's "
        "`text_to_instance` + AllenNLP `Predictor.predict_batch_instance` (indexing, padding, tensors, "
        "`forward`, `viterbi_tags`, labels, `sanitize`); (b) `AinTaggerPredictor.predict_batch_json` with "
        "`{\"tokens\": words}` (the same steps, plus marginals, confidences and spans); (c), (d) "
        "`ExportedTagger.tag_batch` (numpy indexing and padding, onnxruntime, labels, confidences, spans).",
    ]
    timed = results["timed"]
    lines += [
        "",
        "## Throughput",
        "",
        f"Sentences per second, batch {batch}; × (a): how many times faster than (a). Random words from the "
        f"vocabulary: median over {timed['random_batches']} batches ({timed['random_batches'] * batch:,} sentences) "
        f"per contender and column, in {timed['rounds']} interleaved rounds.",
    ]
    if "file" in results:
        file = results["file"]
        lines.append(
            f"File `{file['path']}`: {file['sentences']:,} sentences ({file['tokens']:,} tokens) in their order, "
            f"{file['batches']} batch{'es' if file['batches'] != 1 else ''}, each run by every contender in turn, in "
            f"{file['passes']} pass{'es' if file['passes'] != 1 else ''}; a batch's time is its median over the "
            "passes, the rate is the sentences over the sum of those times."
        )
    elif results.get("file_missing"):
        lines.append(f"No file column: {results['file_missing']}.")
    lines.append("")
    columns = [f"{n} words" for n in lengths] + (["file"] if "file" in results else [])
    header = [f" {column} sent/s | × (a) |" for column in columns] + [f" {n} words ms/batch |" for n in lengths]
    lines.append("| contender |" + "".join(header))
    lines.append("|---" * (1 + 2 * len(columns) + len(lengths)) + "|")
    rates = results["sentences_per_second"]
    for name in names:
        row = f"| {name} |"
        for column in [str(n) for n in lengths] + (["file"] if "file" in results else []):
            rate = rates[column][name]
            row += f" {rate:,.0f} | {rate / rates[column][reference]:.2f}× |"
        row += "".join(f" {results['random'][str(n)][name]['median'] * 1e3:.1f} |" for n in lengths)
        lines.append(row)
    latency = results["latency"]
    lines += [
        "",
        "## Latency, one sentence per call",
        "",
        f"Milliseconds over {latency['sentences']:,} single sentences ({latency['source']}), every sentence run by "
        "every contender in turn; × (a): (a)'s latency over the contender's.",
        "",
        "| contender | p50 ms | × (a) | p99 ms | × (a) | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        figures, base = latency[name], latency[reference]
        lines.append(
            f"| {name} | {figures['p50'] * 1e3:.2f} | {base['p50'] / figures['p50']:.2f}× | "
            f"{figures['p99'] * 1e3:.2f} | {base['p99'] / figures['p99']:.2f}× | {figures['mean'] * 1e3:.2f} |"
        )
    lines += [
        "",
        "## Same tags",
        "",
        f"On {results['agreement_batches']} (the first batch of each column): the tags of a contender against those "
        "of the contender with the same weights.",
        "",
        "| contender | against | equal sentences | equal tokens |",
        "|---|---|---|---|",
    ]
    for name, figures in results["agreement"].items():
        equal, tokens = figures["equal_tokens"], figures["tokens"]
        lines.append(
            f"| {name} | {figures['reference']} | {figures['equal_sentences']}/{figures['sentences']} | "
            f"{equal}/{tokens} ({equal / max(tokens, 1):.2%}) |"
        )
    return "\n".join(lines) + "\n"


def load_models(args: argparse.Namespace) -> Tuple[Tagger, Tagger, Sentences, str]:
    """
    The crf and the AIN `(model, reader)`, the sentences of `--data` (all; none without it) and the
    report's line on the models.
    """
    if args.archive_crf:
        crf, ain = archived_models(args.archive_crf, args.archive_ain)
        models = f"trained archives {args.archive_crf} (crf: (a), (b)) and {args.archive_ain} (mfvi: (b), (c), (d))"
        reader = ain[1]
    else:  # the untrained models' reader comes first: their vocabulary takes the file's words
        reader = DatasetReader.from_params(config("mfvi1").pop("dataset_reader"))
    sentences: Sentences = []
    if args.data:
        sentences = [list(instance["metadata"]["words"]) for instance in reader.read(args.data)]
    if not args.archive_crf:
        size = args.vocabulary or VOCABULARY
        crf, ain = untrained_models(size, args.hidden, sentences)
        models = (
            "untrained, built from `training_configs/conll03_ner.jsonnet` (bilstm: word embedding 50 + character "
            f"CNN 50 → BiLSTM {ain[0].encoder.get_output_dim() // 2} per direction), {size:,} words ("
            + ("the file's, then made-up ones" if sentences else "made up")
            + f"), {len(LABELS)} BIOES labels"
        )
    models += f"; (a) has the weights of (b) crf. Decoding: {decoding(crf[0])}; {decoding(ain[0])}."
    return crf, ain, sentences, models


def measure(
    contenders: List[Contender],
    words: Sequence[str],
    file_sentences: Sentences,
    args: argparse.Namespace,
    log: Callable[[str], None],
) -> Dict[str, Any]:
    """The agreement, throughput and latency figures of `format_report` (see the module docstring)."""
    results: Dict[str, Any] = {}
    pools = {n: random_batches(words, n, args.batch_size, args.batches, seed=n) for n in args.lengths}
    file_batches = [file_sentences[i : i + args.batch_size] for i in range(0, len(file_sentences), args.batch_size)]
    checked = [pool[0] for pool in pools.values()] + file_batches[:1]
    plural = "es" if len(checked) > 1 else ""
    results["agreement_batches"] = f"{sum(map(len, checked))} sentences, {len(checked)} batch{plural}"
    results["agreement"] = agreement(contenders, checked)

    def summary(rates: Dict[str, float]) -> str:
        return ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())

    results["random"], rates = {}, {}
    for length, pool in pools.items():
        begun = time.perf_counter()
        times = time_rounds(contenders, pool, args.rounds, args.warmup)
        results["random"][str(length)] = {
            name: {"median": statistics.median(t), "mean": statistics.fmean(t), "seconds": t}
            for name, t in times.items()
        }
        rates[str(length)] = {name: args.batch_size / statistics.median(t) for name, t in times.items()}
        log(f"{length} words ({time.perf_counter() - begun:.0f} s): sent/s {summary(rates[str(length)])}")
    if file_batches:
        begun = time.perf_counter()
        times = time_each(contenders, file_batches, args.rounds, args.warmup)
        per_batch = {name: [statistics.median(column) for column in zip(*t)] for name, t in times.items()}
        rates["file"] = {name: len(file_sentences) / sum(seconds) for name, seconds in per_batch.items()}
        results["file"] = {
            "path": args.data,
            "sentences": len(file_sentences),
            "tokens": sum(map(len, file_sentences)),
            "batches": len(file_batches),
            "passes": args.rounds,
            "seconds_per_batch": per_batch,
        }
        log(f"file ({time.perf_counter() - begun:.0f} s): sent/s {summary(rates['file'])}")
    results["sentences_per_second"] = rates

    rng = random.Random(1)
    if file_sentences:
        source = f"drawn at random from `{args.data}`"
        if len(file_sentences) >= args.latency_sentences:
            singles = rng.sample(file_sentences, args.latency_sentences)
        else:
            singles = [rng.choice(file_sentences) for _ in range(args.latency_sentences)]
    else:
        source = f"random words, lengths uniform in {RANDOM_LENGTHS[0]}..{RANDOM_LENGTHS[1]}"
        lengths = [rng.randint(*RANDOM_LENGTHS) for _ in range(args.latency_sentences)]
        singles = [[rng.choice(words) for _ in range(length)] for length in lengths]
    begun = time.perf_counter()
    times = time_each(contenders, [[sentence] for sentence in singles], 1, max(args.warmup, 5))
    latency: Dict[str, Any] = {"sentences": len(singles), "tokens": sum(map(len, singles)), "source": source}
    for name, (seconds,) in times.items():
        p50, p99 = numpy.percentile(seconds, [50, 99])
        latency[name] = {"p50": float(p50), "p99": float(p99), "mean": statistics.fmean(seconds)}
    results["latency"] = latency
    medians = ", ".join(f"{c.name} {latency[c.name]['p50'] * 1e3:.2f}" for c in contenders)
    log(f"latency ({time.perf_counter() - begun:.0f} s): p50 ms {medians}")
    return results


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        help="a file the model's dataset reader reads (e.g. CoNLL-2003 eng.testa): a throughput column on it as it "
        "is, and the latency sentences; without it, no such column and random latency sentences",
    )
    parser.add_argument("--archive-crf", help="a trained ain_tagger archive with the crf decoder: (a), (b)")
    parser.add_argument("--archive-ain", help="a trained ain_tagger archive with the mfvi decoder: (b), (c), (d)")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads (default: 1)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128], help="random sentence lengths")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=16, help="timed random batches per contender and length")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, and passes over the file")
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches per contender and column")
    parser.add_argument("--file-sentences", type=int, help="time only the file's first N sentences (default: all)")
    parser.add_argument("--latency-sentences", type=int, default=1000, help="single sentences timed")
    parser.add_argument("--vocabulary", type=int, help=f"untrained models: vocabulary words (default: {VOCABULARY})")
    parser.add_argument("--hidden", type=int, help="untrained models: BiLSTM size per direction (default: 256)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few batches and sentences everywhere")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = parser.parse_args(argv)
    if (args.archive_crf is None) != (args.archive_ain is None):
        parser.error("--archive-crf and --archive-ain go together")
    if args.archive_crf and (args.vocabulary is not None or args.hidden is not None):
        parser.error("--vocabulary and --hidden are for untrained models, not archives")
    if args.quick:
        args.batches, args.rounds, args.warmup = min(args.batches, 2), min(args.rounds, 2), min(args.warmup, 1)
        args.latency_sentences = min(args.latency_sentences, 30)
        args.file_sentences = min(args.file_sentences or 64, 64)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    file_missing = None
    if args.data and not Path(args.data).is_file():
        file_missing = f"--data {args.data} does not exist"
        log(f"warning: {file_missing}; no file column, random latency lengths")
        args.data = None

    torch.set_num_threads(args.threads)
    crf, ain, file_sentences, models = load_models(args)
    file_sentences = file_sentences[: args.file_sentences] if args.file_sentences else file_sentences

    import onnxruntime
    from allennlp.version import VERSION as allennlp_version

    results: Dict[str, Any] = {
        "command": "python benchmarks/serving_speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "setup": {
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "allennlp": allennlp_version,
            "python": platform.python_version(),
            "cpu": cpu_name(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        },
        "models": models,
        "batch_size": args.batch_size,
        "lengths": args.lengths,
        "timed": {"random_batches": args.batches, "rounds": args.rounds},
    }
    if file_missing:
        results["file_missing"] = file_missing
    with tempfile.TemporaryDirectory() as scratch:
        exported = Path(scratch) / "exported"
        log(f"exporting the {decoder_name(ain[0])} tagger (ONNX, int8)")
        export_model(ain[0], ain[1], exported, quantize=True, source=args.archive_ain, progress=log)
        contenders = build_contenders(crf, ain, exported, args.threads)
        results["contenders"] = [c.name for c in contenders]
        results.update(measure(contenders, vocabulary_words(ain[0]), file_sentences, args, log))

    report = format_report(results)
    print(report)
    os.makedirs(args.out, exist_ok=True)
    (Path(args.out) / "serving_speed.md").write_text(report, encoding="utf-8")
    (Path(args.out) / "serving_speed.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    log(f"wrote {args.out}/serving_speed.md and .json")
    return results


if __name__ == "__main__":
    main()
