import random

import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score

from allennlp_ain.training.metrics import SpanF1

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-PER", "S-LOC"]


@pytest.mark.parametrize("seed", range(3))
def test_matches_seqeval_default_mode(seed):
    rng = random.Random(seed)
    ids = {i: label for i, label in enumerate(LABELS)}
    metric = SpanF1(ids)
    gold_all, predicted_all = [], []
    for _ in range(4):
        lengths = [rng.randint(1, 9) for _ in range(5)]
        gold = torch.tensor([[rng.randrange(len(LABELS)) for _ in range(9)] for _ in lengths])
        predicted = torch.where(torch.rand(gold.shape) < 0.7, gold, torch.randint(0, len(LABELS), gold.shape))
        mask = torch.arange(9).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
        metric(predicted, gold, mask)
        for g, p, n in zip(gold.tolist(), predicted.tolist(), lengths):
            gold_all.append([LABELS[i] for i in g[:n]])
            predicted_all.append([LABELS[i] for i in p[:n]])
    result = metric.get_metric(reset=True)
    assert result["f1-measure-overall"] == pytest.approx(f1_score(gold_all, predicted_all))
    assert result["precision-overall"] == pytest.approx(precision_score(gold_all, predicted_all))
    assert result["recall-overall"] == pytest.approx(recall_score(gold_all, predicted_all))
    assert metric.get_metric()["f1-measure-overall"] == 0.0  # reset


def test_conlleval_chunking_of_iob1_and_bioes():
    metric = SpanF1({})
    # IOB1: I-PER after O starts a chunk; B-PER separates two adjacent PER chunks
    metric.count(["I-PER", "I-PER", "B-PER", "O", "I-LOC"], ["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
    assert metric._gold == {"PER": 2, "LOC": 1}
    metric.reset()
    metric.count(["B-PER", "E-PER", "S-LOC"], ["B-PER", "E-PER", "B-LOC"])
    assert "f1-measure-PER" not in metric.get_metric()  # per-type figures only at reset
    result = metric.get_metric(reset=True)
    assert result["f1-measure-PER"] == 1.0 and result["recall-LOC"] == 1.0 and result["precision-overall"] == 1.0


def test_labels_without_span_prefix_are_single_token_spans():
    metric = SpanF1({0: "O", 1: "B-PER", 2: "@@UNKNOWN@@"})
    metric(torch.tensor([[1, 0, 0]]), torch.tensor([[1, 0, 2]]), torch.ones(1, 3, dtype=torch.bool))
    result = metric.get_metric()
    assert result["recall-overall"] == 0.5 and result["precision-overall"] == 1.0


def test_bioul_and_bmes_letters_are_read_by_their_role():
    metric = SpanF1({})
    metric.count(["B-PER", "L-PER", "U-LOC", "O"], ["B-PER", "E-PER", "S-LOC", "O"])
    metric.count(["B-W", "M-W", "E-W", "S-W"], ["B-W", "I-W", "E-W", "S-W"])
    assert metric.get_metric()["f1-measure-overall"] == 1.0
