import random
from typing import Dict, Iterable, Iterator, List, Optional

import more_itertools
from allennlp.data.data_loaders.multitask_scheduler import MultiTaskScheduler
from allennlp.data.instance import Instance


@MultiTaskScheduler.register("ain_random_interleave")
class RandomInterleaveScheduler(MultiTaskScheduler):
    """
    Algorithm 1 of Lu et al. (SC-LSTM): each dataset's instances are cut, in their order, into
    batches of that dataset only; at every step a dataset is drawn uniformly at random among those
    that still have batches left in the epoch, and its next batch comes next. The epoch ends when
    every batch of every dataset has been used once. Batches never mix tasks, so every model and
    `MultiTaskModel` head can take them. Each dataset is read lazily, one batch ahead, so streamed
    datasets (`instances_per_epoch`, lazy readers) are never held whole.

    The draws of an epoch come from `random.Random(f"{seed}-{epoch}")`, `epoch` counting the calls
    of `batch_instances` from 0: epochs differ, and the whole sequence is reproducible from the
    seed. The state is two plain `int`s, `seed` and `epoch`; a run resumed from a checkpoint gets
    the order it would have had by setting `epoch` to the number of epochs done.

    `count_batches` is exact for the counts it is given: the sum over datasets of
    `ceil(count / batch_size)` (`floor` with `drop_last`). AllenNLP 2.10.1's
    `MultiTaskDataLoader.__len__` gives it the right counts without `instances_per_epoch`. With
    `instances_per_epoch` it gives `instances_per_epoch` for every dataset instead of the counts it
    draws, `floor(p_k * instances_per_epoch / sum(p))` for the sampler's proportions `p`, so
    `len(loader)` is about `K` times too large for `K` datasets (allennlp#5693, #5732). A scheduler
    never sees the sampler and cannot correct this; pass the drawn counts to `count_batches` for
    the true number.

    Registered as a `MultiTaskScheduler` with name "ain_random_interleave".

    # Parameters

    batch_size : `int`
        Instances per batch, for every dataset; each dataset's last batch may be smaller.
    seed : `int`, optional (default = `None`)
        The seed of the task draws. `None` draws one from Python's global `random` at
        construction, which `allennlp train` seeds with the config's `random_seed`, so a run stays
        reproducible.
    drop_last : `bool`, optional (default = `False`)
        Leave out each dataset's last batch when it is smaller than `batch_size`, as AllenNLP's
        `homogeneous_roundrobin` does.
    sorting_key : `str`, optional (default = `None`)
        Bucket by length: each dataset's instances are taken `pool_batches * batch_size` at a time
        (in the loader's shuffled order), sorted by the length of this field (e.g. `"tokens"`), cut
        into batches, and those batches shuffled, so that a batch holds sentences of similar
        lengths and little padding (an LSTM's time grows with the longest sentence of its batch).
        The batches still hold one dataset each, every instance is used once, and the number of
        batches is unchanged. `None`: batches in the loader's order.
    pool_batches : `int`, optional (default = `100`)
        With `sorting_key`: how many batches' worth of instances are sorted together. Larger
        pools pad less; a pool is held in memory.
    """

    def __init__(
        self,
        batch_size: int,
        seed: Optional[int] = None,
        drop_last: bool = False,
        sorting_key: Optional[str] = None,
        pool_batches: int = 100,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"ain_random_interleave: batch_size must be positive, got {batch_size}")
        if pool_batches < 1:
            raise ValueError(f"ain_random_interleave: pool_batches must be positive, got {pool_batches}")
        self.batch_size = batch_size
        self.seed: int = random.randrange(2**32) if seed is None else seed
        self.drop_last = drop_last
        self.sorting_key = sorting_key
        self.pool_batches = pool_batches
        self.epoch = 0

    def batch_instances(self, epoch_instances: Dict[str, Iterable[Instance]]) -> Iterator[List[Instance]]:
        # The epoch's generator is made here, not inside the generator below, so the epoch counts
        # the calls even when their batches are read later or not at all.
        generator = random.Random(f"{self.seed}-{self.epoch}")
        self.epoch += 1
        return self._interleave(epoch_instances, generator)

    def _interleave(
        self, epoch_instances: Dict[str, Iterable[Instance]], generator: random.Random
    ) -> Iterator[List[Instance]]:
        chunks = {name: self._batches(instances, generator) for name, instances in epoch_instances.items()}
        pending: Dict[str, List[Instance]] = {}  # each dataset's next batch, for those with one left
        for name in sorted(chunks):
            self._read_ahead(name, chunks, pending)
        while pending:
            name = generator.choice(sorted(pending))
            yield pending.pop(name)
            self._read_ahead(name, chunks, pending)

    def _batches(self, instances: Iterable[Instance], generator: random.Random) -> Iterator[List[Instance]]:
        """One dataset's batches, in order or bucketed by length (`sorting_key`); with `drop_last`,
        not the one smaller than `batch_size`."""
        if self.sorting_key is None:
            batches = more_itertools.chunked(instances, self.batch_size)
        else:
            batches = self._buckets(instances, generator)
        for batch in batches:
            if not (self.drop_last and len(batch) < self.batch_size):
                yield batch

    def _buckets(self, instances: Iterable[Instance], generator: random.Random) -> Iterator[List[Instance]]:
        for pool in more_itertools.chunked(instances, self.batch_size * self.pool_batches):
            pool.sort(key=self._length)
            batches = list(more_itertools.chunked(pool, self.batch_size))
            generator.shuffle(batches)
            yield from batches

    def _length(self, instance: Instance) -> int:
        if self.sorting_key not in instance.fields:
            raise ValueError(
                f"ain_random_interleave: sorting_key {self.sorting_key!r} is not a field of the instance "
                f"(fields: {sorted(instance.fields)})"
            )
        return len(instance[self.sorting_key])

    def _read_ahead(
        self, name: str, chunks: Dict[str, Iterator[List[Instance]]], pending: Dict[str, List[Instance]]
    ) -> None:
        batch = next(chunks[name], None)
        if batch is not None:
            pending[name] = batch

    def count_batches(self, dataset_counts: Dict[str, int]) -> int:
        batches = 0
        for count in dataset_counts.values():
            batches += count // self.batch_size
            if not self.drop_last and count % self.batch_size != 0:
                batches += 1
        return batches
