"""
Check an exported tagger (`allennlp ain-export`) against its PyTorch model on every sentence of a
file: the tags of the ONNX graph (and of its int8 version) against PyTorch's, the largest
confidence difference, and the accuracy and span F1 of each against the gold tags, with the time
each took.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/export_check.py output/ner-mfvi1/model.tar.gz \\
        ../shared/data/conll2003_en/eng.testb --quantize

The file is read by the archive's own dataset reader (so a CoNLL file for a CoNLL model, a
CoNLL-U file for a UD model). Without `--exported DIR` the archive is exported into a temporary
folder first (`--quantize`: with the int8 graph too); with it, that folder is checked (its int8
graph too, when it has one). Prints one line per backend and, with `--output-json`, writes the
figures as JSON.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allennlp.models.archival import load_archive  # noqa: E402

import allennlp_ain  # noqa: E402,F401  (registers the components)
from allennlp_ain.export import export_model  # noqa: E402
from allennlp_ain.predictors import AinTaggerPredictor  # noqa: E402
from allennlp_ain.tag_schemes import extract_spans  # noqa: E402
from allennlp_ain_onnx import ExportedTagger  # noqa: E402


def scores(predicted: Sequence[List[str]], gold: Sequence[List[str]], spans: bool) -> Dict[str, float]:
    """Token accuracy and (with `spans`) micro span precision / recall / F1, read like `conlleval`."""
    correct = sum(p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs))
    result = {"accuracy": correct / max(sum(len(g) for g in gold), 1)}
    if spans:
        found = {(n, *s) for n, tags in enumerate(predicted) for s in extract_spans(tags)}
        wanted = {(n, *s) for n, tags in enumerate(gold) for s in extract_spans(tags)}
        precision = len(found & wanted) / max(len(found), 1)
        recall = len(found & wanted) / max(len(wanted), 1)
        result.update(precision=precision, recall=recall, f1=2 * precision * recall / max(precision + recall, 1e-12))
    return result


def compare(outputs: List[Dict[str, Any]], reference: List[Dict[str, Any]]) -> Dict[str, Any]:
    """How far `outputs` are from the PyTorch `reference`, sentence by sentence."""
    same_sentences = sum(o["tags"] == r["tags"] for o, r in zip(outputs, reference))
    same_tokens = sum(a == b for o, r in zip(outputs, reference) for a, b in zip(o["tags"], r["tags"]))
    tokens = sum(len(r["tags"]) for r in reference)
    worst = max(
        (abs(a - b) for o, r in zip(outputs, reference) for a, b in zip(o["confidence"], r["confidence"])), default=0.0
    )
    return {
        "sentences_with_equal_tags": same_sentences,
        "tokens_with_equal_tags": same_tokens,
        "tokens": tokens,
        "max_confidence_difference": worst,
    }


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", help="the trained ain_tagger archive (model.tar.gz)")
    parser.add_argument("data", help="a file the archive's dataset reader reads, with gold tags")
    parser.add_argument("--exported", help="an exported folder to check (default: export the archive now)")
    parser.add_argument("--quantize", action="store_true", help="when exporting now, also write and check the int8 graph")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output-json", help="write the figures here")
    args = parser.parse_args(argv)

    loaded = load_archive(args.archive, cuda_device=-1)
    model, reader = loaded.model.eval(), loaded.dataset_reader
    instances = list(reader.read(args.data))
    sentences = [instance["metadata"]["words"] for instance in instances]
    gold = [list(instance["tags"].labels) for instance in instances]
    spans = model.head.label_encoding is not None
    print(f"{len(sentences)} sentences, {sum(map(len, sentences))} tokens from {args.data}", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.exported) if args.exported else Path(scratch) / "exported"
        if not args.exported:
            export_model(model, reader, folder, quantize=args.quantize, source=args.archive, progress=lambda line: print(line, file=sys.stderr))
        predictor = AinTaggerPredictor(model, reader)
        inputs = [{"tokens": words} for words in sentences]
        start = time.perf_counter()
        reference = []
        for first in range(0, len(inputs), args.batch_size):
            reference += predictor.predict_batch_json(inputs[first : first + args.batch_size])
        results: Dict[str, Any] = {
            "archive": args.archive,
            "data": args.data,
            "pytorch": {"seconds": time.perf_counter() - start, **scores([r["tags"] for r in reference], gold, spans)},
        }
        backends = {"onnx": False}
        if json.loads((folder / "tagger.json").read_text(encoding="utf-8")).get("quantized_model_file"):
            backends["onnx_int8"] = True
        for name, quantized in backends.items():
            tagger = ExportedTagger(folder, quantized=quantized)
            start = time.perf_counter()
            outputs = tagger.tag_batch(sentences, batch_size=args.batch_size)
            seconds = time.perf_counter() - start
            results[name] = {
                "seconds": seconds,
                **scores([o["tags"] for o in outputs], gold, spans),
                **compare(outputs, reference),
            }
    for name, figures in results.items():
        if isinstance(figures, dict):
            print(name, " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    if args.output_json:
        Path(args.output_json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
