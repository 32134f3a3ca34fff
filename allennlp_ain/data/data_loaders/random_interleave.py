import random
from typing import Dict, Iterable, Iterator, List, Optional

import more_itertools
from allennlp.data.data_loaders.multitask_scheduler import MultiTaskScheduler
from allennlp.data.instance import Instance


@MultiTaskScheduler.register("ain_random_interleave")
class RandomInterleaveScheduler(MultiTaskScheduler):
    """
    Algorithm 1 of Lu et al. (SC-LSTM): each dataset's instances are cut into batches of that
    dataset only, in their order; at every step a dataset is drawn uniformly at random among those
    that still have batches left in the epoch, and its next batch comes next. The epoch ends when
    every batch of every dataset has been used once. Each dataset's iterator is read lazily, one
    batch ahead, so streamed datasets are never held whole.

    The draws come from `random.Random` seeded with `(seed, epoch)`, the epoch counting the calls
    of `batch_instances`: one run's sequence of epochs is reproducible, and epochs differ.

    Registered as a `MultiTaskScheduler` with name "ain_random_interleave".

    # Parameters

    batch_size : `int`
        Instances per batch (a dataset's last batch may be smaller).
    seed : `int`, optional (default = `13`)
    drop_last : `bool`, optional (default = `False`)
        Leave out each dataset's last batch when it is smaller than `batch_size`.
    """

    def __init__(self, batch_size: int, seed: int = 13, drop_last: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"ain_random_interleave: batch_size must be positive, got {batch_size}")
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last
        self._epoch = 0

    def batch_instances(self, epoch_instances: Dict[str, Iterable[Instance]]) -> Iterator[List[Instance]]:
        generator = random.Random(f"{self.seed}-{self._epoch}")
        self._epoch += 1
        chunks = {name: iter(more_itertools.chunked(instances, self.batch_size)) for name, instances in epoch_instances.items()}
        pending: Dict[str, List[Instance]] = {}
        for name in sorted(chunks):
            batch = self._next(chunks[name])
            if batch is not None:
                pending[name] = batch
        while pending:
            name = generator.choice(sorted(pending))
            yield pending.pop(name)
            batch = self._next(chunks[name])
            if batch is not None:
                pending[name] = batch

    def _next(self, chunks: Iterator[List[Instance]]) -> Optional[List[Instance]]:
        batch = next(chunks, None)
        if batch is not None and self.drop_last and len(batch) < self.batch_size:
            return None
        return batch

    def count_batches(self, dataset_counts: Dict[str, int]) -> int:
        full, rest = 0, 0
        for count in dataset_counts.values():
            full += count // self.batch_size
            rest += int(count % self.batch_size != 0 and not self.drop_last)
        return full + rest
