from collections import Counter
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.metrics import Metric

from allennlp_ain.tag_schemes import tags_to_spans


@Metric.register("ain_span_f1")
class SpanF1(Metric):
    """
    Span precision, recall and F1 (`precision-overall`, `recall-overall`, `f1-measure-overall`;
    with `reset=True`, at the end of an epoch, also `precision-TYPE` etc. for every span type)
    over label ids, with spans read by `allennlp_ain.tag_schemes.tags_to_spans` without a scheme,
    which follows `conlleval` (and agrees with `seqeval`'s `get_entities`): it accepts IOB1, BIO,
    BIOES (also with BIOUL's U/L) and BMES label sequences, ill-formed ones included, so the
    figures match the official CoNLL script. Counts are reduced across workers in distributed
    training.

    Registered as a `Metric` with name "ain_span_f1".

    # Parameters

    labels : `Dict[int, str]`
        Label id → label string (the model's label vocabulary). A label with no span prefix
        (such as the `@@UNKNOWN@@` that stands for labels never seen in training) counts as a
        one-token span of its own type, so a gold span of an unseen type is a recall error.
    """

    def __init__(self, labels: Dict[int, str]) -> None:
        self._labels = dict(labels)
        self.reset()

    def reset(self) -> None:
        self._true_positives: Counter = Counter()
        self._predicted: Counter = Counter()
        self._gold: Counter = Counter()

    def __call__(
        self, predictions: torch.Tensor, gold_labels: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> None:
        """`predictions` and `gold_labels`: label ids `(batch, seq)`; `mask`: `(batch, seq)`."""
        if mask is None:
            mask = torch.ones_like(gold_labels, dtype=torch.bool)
        lengths = mask.sum(1).tolist()
        for predicted, gold, length in zip(predictions.tolist(), gold_labels.tolist(), lengths):
            self.count(
                [self._labels[i] for i in predicted[:length]], [self._labels[i] for i in gold[:length]]
            )

    def count(self, predicted: List[str], gold: List[str]) -> None:
        """Add one sentence given as label strings."""
        predicted_spans = set(tags_to_spans(predicted))
        gold_spans = set(tags_to_spans(gold))
        for label, _, _ in predicted_spans:
            self._predicted[label] += 1
        for label, _, _ in gold_spans:
            self._gold[label] += 1
        for label, _, _ in predicted_spans & gold_spans:
            self._true_positives[label] += 1

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        counters = [self._true_positives, self._predicted, self._gold]
        if is_distributed():
            gathered: List[Optional[List[Counter]]] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, counters)
            counters = [sum((worker[i] for worker in gathered), Counter()) for i in range(3)]
        true_positives, predicted, gold = counters
        metrics = {}
        if reset:  # per-type figures once per epoch, not in every batch's progress bar
            for label in sorted(set(predicted) | set(gold)):
                metrics.update(_prf(true_positives[label], predicted[label], gold[label], label))
        metrics.update(
            _prf(sum(true_positives.values()), sum(predicted.values()), sum(gold.values()), "overall")
        )
        if reset:
            self.reset()
        return metrics


def _prf(true_positives: int, predicted: int, gold: int, suffix: str) -> Dict[str, float]:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {f"precision-{suffix}": precision, f"recall-{suffix}": recall, f"f1-measure-{suffix}": f1}
