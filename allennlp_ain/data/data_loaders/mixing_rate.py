import math
import random
from typing import Dict, Iterable, Iterator, List, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data.data_loaders.multitask_scheduler import MultiTaskScheduler
from allennlp.data.instance import Instance

from allennlp_ain.data.data_loaders.random_interleave import RandomInterleaveScheduler


@MultiTaskScheduler.register("ain_mixing_rate")
class MixingRateScheduler(RandomInterleaveScheduler):
    """
    The task mixing rate of Lin et al. (2018) for training one target dataset with auxiliary ones
    (other tasks, other languages). Dataset `i` with `N_i` training instances has the rate

        r_i = μ_i · ζ_i · √N_i,

    `μ_i = 1` when its task is the target's, else `other_task` (0.1); `ζ_i = 1` when its language
    is the target's, else `other_language` (0.1); so the target's own rate is `√N_tgt`. An epoch
    holds `n_tgt = ceil(N_tgt / batch_size)` target batches (every target instance once, the last
    batch possibly smaller) and `int(r_i / r_tgt · n_tgt)` batches of each auxiliary dataset: an
    epoch is a fixed number of target updates, whatever the auxiliaries, so a multi-task run and a
    single-task baseline with the same number of epochs make the same number of target updates.

    An auxiliary dataset gives its first `batch_size · k` instances of the epoch in the loader's
    order (a fresh random subset every epoch when the loader shuffles, as AllenNLP's
    `multitask` loader does by default), starting again from its first when it has fewer. Every
    batch holds one dataset (so one task and one language). The batches of the epoch come in a
    uniformly random order (a random permutation of the multiset of their datasets), drawn from
    `random.Random(f"{seed}-{epoch}")` as in `ain_random_interleave`, whose `seed`, `epoch`,
    `sorting_key` and `pool_batches` this scheduler shares. Each dataset's instances of the epoch
    are held in memory (their counts are the `N_i`), as AllenNLP's loader holds them anyway
    without `max_instances_in_memory`. Use it without the loader's `instances_per_epoch`: then
    `count_batches`, which `len(loader)` calls with the datasets' sizes, is exact.

    `rates(counts)` and `batches_per_epoch(counts)` give the numbers for given dataset sizes.

    Registered as a `MultiTaskScheduler` with name "ain_mixing_rate".

    # Parameters

    batch_size : `int`
        Instances per batch, for every dataset.
    target : `str`
        The target dataset's name (a key of the loader's data paths).
    tasks : `Dict[str, str]`
        The task of every dataset, by name.
    languages : `Dict[str, str]`
        The language of every dataset, by name.
    other_task : `float`, optional (default = `0.1`)
        `μ` of a dataset of another task than the target's.
    other_language : `float`, optional (default = `0.1`)
        `ζ` of a dataset of another language than the target's.
    seed : `int`, optional (default = `None`)
        The seed of the batch order; see `ain_random_interleave`.
    sorting_key : `str`, optional (default = `None`)
        Bucket each dataset's batches by the length of this field; see `ain_random_interleave`.
    pool_batches : `int`, optional (default = `100`)
        See `ain_random_interleave`.
    """

    def __init__(
        self,
        batch_size: int,
        target: str,
        tasks: Dict[str, str],
        languages: Dict[str, str],
        other_task: float = 0.1,
        other_language: float = 0.1,
        seed: Optional[int] = None,
        sorting_key: Optional[str] = None,
        pool_batches: int = 100,
    ) -> None:
        super().__init__(batch_size, seed=seed, drop_last=False, sorting_key=sorting_key, pool_batches=pool_batches)
        if set(tasks) != set(languages):
            raise ConfigurationError(
                f"ain_mixing_rate: tasks {sorted(tasks)} and languages {sorted(languages)} must name the same datasets"
            )
        if target not in tasks:
            raise ConfigurationError(f"ain_mixing_rate: the target {target!r} is not one of the datasets {sorted(tasks)}")
        for name, factor in (("other_task", other_task), ("other_language", other_language)):
            if not 0.0 <= factor:
                raise ConfigurationError(f"ain_mixing_rate: {name} must be >= 0, got {factor}")
        self.target = target
        self.tasks = dict(tasks)
        self.languages = dict(languages)
        self.other_task = other_task
        self.other_language = other_language

    def rates(self, counts: Dict[str, int]) -> Dict[str, float]:
        """`r_i = μ_i · ζ_i · √N_i` of every dataset, for its instance count `N_i` in `counts`."""
        self._check_datasets(counts)
        task, language = self.tasks[self.target], self.languages[self.target]
        return {
            name: (1.0 if self.tasks[name] == task else self.other_task)
            * (1.0 if self.languages[name] == language else self.other_language)
            * math.sqrt(count)
            for name, count in counts.items()
        }

    def batches_per_epoch(self, counts: Dict[str, int]) -> Dict[str, int]:
        """The batches of every dataset in one epoch, for the instance counts in `counts`."""
        rates = self.rates(counts)
        target_batches = math.ceil(counts[self.target] / self.batch_size)
        if target_batches == 0:
            return {name: 0 for name in counts}
        return {
            name: target_batches if name == self.target else int(rates[name] / rates[self.target] * target_batches)
            for name in counts
        }

    def count_batches(self, dataset_counts: Dict[str, int]) -> int:
        return sum(self.batches_per_epoch(dataset_counts).values())

    def _check_datasets(self, names: Iterable[str]) -> None:
        if set(names) != set(self.tasks):
            raise ValueError(
                f"ain_mixing_rate: the loader's datasets {sorted(names)} are not the configured {sorted(self.tasks)}"
            )

    def _interleave(
        self, epoch_instances: Dict[str, Iterable[Instance]], generator: random.Random
    ) -> Iterator[List[Instance]]:
        instances = {name: list(items) for name, items in epoch_instances.items()}
        counts = self.batches_per_epoch({name: len(items) for name, items in instances.items()})
        chunks = {}
        for name, count in counts.items():
            items = instances[name]
            if name != self.target:  # the first batch_size · count, again from the start when short
                wanted = self.batch_size * count
                items = (items * math.ceil(wanted / len(items)))[:wanted] if items else []
            chunks[name] = self._batches(items, generator)
        order = [name for name in sorted(counts) for _ in range(counts[name])]
        generator.shuffle(order)
        for name in order:
            yield next(chunks[name])
