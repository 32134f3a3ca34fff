"""
Span F1 of a multilingual archive on a file of a language, as its `ain_tagger` predictor tags it:
a language the model knows, or one it never saw (zero-shot: the predictor's `zero_shot`, the words
read by a known language's word embeddings, every head's universal projection alone). This is how
issue 17's zero-shot experiment scores a student trained on English and Spanish on Dutch.

    .venv/bin/python benchmarks/zero_shot.py RUN/model.tar.gz ../shared/data/conll2002/ned.testb \\
        --dataset es_ner --language nl --zero-shot es

The file is read by the archive's training reader of `--dataset` (one of the same format: the
CoNLL-2002 Spanish reader reads the Dutch files), whose tags are the gold; the scores follow
`conlleval` (`ain_span_f1`). Prints one line and, with `--output-json`, writes the figures.
"""
import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import allennlp_ain  # noqa: E402,F401  (registers the plugin's classes)
from allennlp.models.archival import load_archive  # noqa: E402
from allennlp.predictors import Predictor  # noqa: E402

from allennlp_ain.training.metrics import SpanF1  # noqa: E402


def score(
    archive_path: str,
    data: str,
    dataset: str,
    language: str,
    zero_shot: Optional[str] = None,
    task: Optional[str] = None,
    batch_size: int = 64,
) -> Dict[str, Any]:
    """The figures of `archive_path` on `data` (see the module docstring)."""
    archive = load_archive(archive_path)
    readers = getattr(archive.dataset_reader, "readers", None)
    if not readers or dataset not in readers:
        raise SystemExit(f"{archive_path}: no training reader of a dataset {dataset!r}; it has {sorted(readers or [])}")
    reader = getattr(readers[dataset], "inner", readers[dataset])
    heads = sorted(archive.model.heads)
    task = task if task is not None else (heads[0] if len(heads) == 1 else None)
    if task not in heads:
        raise SystemExit(f"{archive_path}: name the task to score with --task, one of {heads}")
    extra = {"task": task, "zero_shot": zero_shot if zero_shot is not None else False}
    try:
        predictor = Predictor.from_archive(archive, "ain_tagger", dataset_reader_to_load="train", extra_args=extra)
    except ValueError as error:
        raise SystemExit(f"{archive_path}: {error}") from None
    if language not in predictor.languages and zero_shot is None:
        raise SystemExit(
            f"{archive_path} knows the languages {predictor.languages}, not {language!r}: "
            "--zero-shot names the known language whose word embeddings read it"
        )
    sentences, gold = [], []
    for instance in reader.read(data):
        sentences.append([token.text for token in instance["tokens"].tokens])
        gold.append(list(instance["tags"].labels))
    predicted: List[List[str]] = []
    for start in range(0, len(sentences), batch_size):
        lines = [{"tokens": words, "language": language} for words in sentences[start : start + batch_size]]
        predicted.extend(output["tags"] for output in predictor.predict_batch_json(lines))
    metric = SpanF1({})
    tokens = correct = 0
    for tags, gold_tags in zip(predicted, gold):
        metric.count(tags, gold_tags)
        tokens += len(gold_tags)
        correct += sum(a == b for a, b in zip(tags, gold_tags))
    figures = metric.get_metric()
    return {
        "archive": archive_path,
        "data": data,
        "language": language,
        "words_of": zero_shot if language not in predictor.languages else language,
        "zero_shot": language not in predictor.languages,
        "task": task,
        "sentences": len(sentences),
        "accuracy": correct / max(tokens, 1),
        "precision": figures["precision-overall"],
        "recall": figures["recall-overall"],
        "f1": figures["f1-measure-overall"],
    }


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", help="a multilingual ain_multitask_tagger archive")
    parser.add_argument("data", help="the file to score")
    parser.add_argument("--dataset", required=True, help="the archive's dataset whose reader reads the file")
    parser.add_argument("--language", required=True, help="the file's language")
    parser.add_argument("--zero-shot", default=None, help="for a language the model does not know: whose words read it")
    parser.add_argument("--task", default=None, help="the head to score (default: the model's only one)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output-json", default=None)
    args = parser.parse_args(argv)
    result = score(args.archive, args.data, args.dataset, args.language, args.zero_shot, args.task, args.batch_size)
    how = f"zero-shot, words read as {result['words_of']!r}" if result["zero_shot"] else "a language it knows"
    print(
        f"{result['language']} ({how}), task {result['task']}, {result['sentences']} sentences: "
        f"F1 {100 * result['f1']:.2f} (P {100 * result['precision']:.2f}, R {100 * result['recall']:.2f}), "
        f"accuracy {100 * result['accuracy']:.2f}"
    )
    if args.output_json:
        with open(args.output_json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
    return result


if __name__ == "__main__":
    main()
