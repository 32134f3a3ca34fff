"""Algorithm 1 of the SC-LSTM paper as a scheduler, against a naive reference written here."""
import random
from collections import Counter

import pytest

from allennlp_ain.data.data_loaders import RandomInterleaveScheduler


def _datasets(sizes):
    return {name: [f"{name}{i}" for i in range(size)] for name, size in sizes.items()}


def naive_algorithm_1(datasets, batch_size, seed, epoch):
    """Cut every dataset into batches; draw a dataset among those with batches left, take its next."""
    batches = {name: [items[i : i + batch_size] for i in range(0, len(items), batch_size)] for name, items in datasets.items()}
    generator = random.Random(f"{seed}-{epoch}")
    order = []
    while any(batches.values()):
        name = generator.choice(sorted(name for name, left in batches.items() if left))
        order.append(batches[name].pop(0))
    return order


@pytest.mark.parametrize("sizes", [{"pos": 10, "ner": 7, "chunk": 1}, {"a": 4}, {"a": 0, "b": 5}])
def test_every_instance_once_in_single_task_batches_in_the_naive_order(sizes):
    datasets = _datasets(sizes)
    scheduler = RandomInterleaveScheduler(batch_size=3, seed=5)
    for epoch in range(3):
        batches = list(scheduler.batch_instances({name: iter(items) for name, items in datasets.items()}))
        assert batches == naive_algorithm_1(datasets, 3, 5, epoch)
        assert sorted(x for batch in batches for x in batch) == sorted(x for items in datasets.values() for x in items)
        for batch in batches:
            assert len({x.rstrip("0123456789") for x in batch}) == 1  # one task per batch
        assert len(batches) == scheduler.count_batches(sizes)
        for name, items in datasets.items():  # each task's order is kept
            assert [x for batch in batches for x in batch if x.rstrip("0123456789") == name] == items


def test_seeded_epochs_differ_and_drop_last():
    datasets = _datasets({"a": 30, "b": 30})
    first = [list(RandomInterleaveScheduler(2, seed=1).batch_instances(datasets)) for _ in range(2)]
    assert first[0] == first[1]  # the same seed and epoch give the same order
    scheduler = RandomInterleaveScheduler(2, seed=1)
    assert list(scheduler.batch_instances(datasets)) != list(scheduler.batch_instances(datasets))  # the next epoch differs
    dropping = RandomInterleaveScheduler(4, drop_last=True)
    batches = list(dropping.batch_instances(_datasets({"a": 10, "b": 3})))
    assert all(len(batch) == 4 for batch in batches) and len(batches) == 2 == dropping.count_batches({"a": 10, "b": 3})
    with pytest.raises(ValueError, match="batch_size"):
        RandomInterleaveScheduler(0)


def test_the_first_draw_is_uniform_over_the_tasks():
    datasets = _datasets({"a": 5, "b": 5, "c": 5})
    counts = Counter(next(iter(RandomInterleaveScheduler(5, seed=s).batch_instances(datasets)))[0][0] for s in range(3000))
    assert all(abs(counts[name] / 3000 - 1 / 3) < 0.04 for name in "abc")
