"""Algorithm 1 of the SC-LSTM paper as a scheduler, against hand counts and a naive reference written here."""
import json
import random
from collections import Counter, defaultdict

import pytest
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.data.data_loaders import DataLoader

from allennlp_ain.data.data_loaders import RandomInterleaveScheduler
from tests.helpers import FIXTURES


def _datasets(sizes):
    """Instances are strings `"<task>:<index>"`, so a batch's task and an instance's rank are visible."""
    return {name: [f"{name}:{i}" for i in range(size)] for name, size in sizes.items()}


def _task(instance):
    return instance.split(":")[0]


def _batches(scheduler, datasets):
    """One epoch, each dataset given as a one-shot iterator, as `MultiTaskDataLoader` gives it."""
    return list(scheduler.batch_instances({name: iter(items) for name, items in datasets.items()}))


def naive_algorithm_1(datasets, batch_size, seed, epoch, drop_last=False):
    """Cut every dataset into batches; draw a dataset among those with batches left; take its next."""
    batches = {}
    for name, items in datasets.items():
        cut = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
        batches[name] = [batch for batch in cut if len(batch) == batch_size or not drop_last]
    generator = random.Random(f"{seed}-{epoch}")
    order = []
    while any(batches.values()):
        name = generator.choice(sorted(name for name, left in batches.items() if left))
        order.append(batches[name].pop(0))
    return order


@pytest.mark.parametrize(
    "sizes, batch_size, drop_last, expected_count",
    [
        ({"pos": 10, "ner": 7, "chunk": 1}, 3, False, 4 + 3 + 1),
        ({"pos": 10, "ner": 7, "chunk": 1}, 3, True, 3 + 2 + 0),
        ({"pos": 9, "ner": 6}, 3, False, 3 + 2),
        ({"a": 4}, 3, False, 2),
        ({"a": 0, "b": 5}, 2, False, 0 + 3),
        ({"a": 0, "b": 0}, 2, False, 0),
    ],
)
def test_every_instance_once_in_single_task_batches_in_the_naive_order(sizes, batch_size, drop_last, expected_count):
    datasets = _datasets(sizes)
    scheduler = RandomInterleaveScheduler(batch_size=batch_size, seed=5, drop_last=drop_last)
    assert scheduler.count_batches(sizes) == expected_count
    for epoch in range(3):
        batches = _batches(scheduler, datasets)
        assert batches == naive_algorithm_1(datasets, batch_size, 5, epoch, drop_last)
        assert len(batches) == expected_count
        assert all(len({_task(x) for x in batch}) == 1 for batch in batches)  # one task per batch
        seen = Counter(x for batch in batches for x in batch)
        assert all(count == 1 for count in seen.values())  # no instance twice
        for name, items in datasets.items():
            mine = [batch for batch in batches if _task(batch[0]) == name]
            # each task's order is kept, and all its instances come (but a short last batch with drop_last)
            kept = len(items) - len(items) % batch_size if drop_last else len(items)
            assert [x for batch in mine for x in batch] == items[:kept]
            # full batches but each task's last
            assert all(len(batch) == batch_size for batch in mine[:-1])
            assert all(0 < len(batch) <= batch_size for batch in mine)


def test_the_task_order_depends_on_the_seed_and_the_epoch_and_is_reproducible():
    datasets = _datasets({"a": 30, "b": 30})  # 15 + 15 batches: C(30, 15) ~ 1.6e8 orders

    def orders(batches):
        return [_task(batch[0]) for batch in batches]

    first, again = RandomInterleaveScheduler(2, seed=1), RandomInterleaveScheduler(2, seed=1)
    epochs = [orders(_batches(first, datasets)) for _ in range(3)]
    assert epochs == [orders(_batches(again, datasets)) for _ in range(3)]  # the same seed, the same sequence
    assert len({tuple(order) for order in epochs}) == 3  # successive epochs differ
    assert orders(_batches(RandomInterleaveScheduler(2, seed=2), datasets)) != epochs[0]  # another seed differs
    assert all(sorted(order) == ["a"] * 15 + ["b"] * 15 for order in epochs)

    # The epoch counts the calls, even when a call's batches are read late or not at all.
    lazy = RandomInterleaveScheduler(2, seed=1)
    unread = [lazy.batch_instances(datasets) for _ in range(2)]
    assert orders(_batches(lazy, datasets)) == epochs[2]
    assert orders(list(unread[0])) == epochs[0]


def test_the_state_is_plain_ints_and_resuming_at_an_epoch_gives_that_epochs_order():
    datasets = _datasets({"a": 7, "b": 5, "c": 3})
    run = RandomInterleaveScheduler(2, seed=11)
    epochs = [_batches(run, datasets) for _ in range(4)]
    state = json.loads(json.dumps({"seed": run.seed, "epoch": run.epoch}))
    assert state == {"seed": 11, "epoch": 4}
    resumed = RandomInterleaveScheduler(2, seed=state["seed"])
    resumed.epoch = 2
    assert [_batches(resumed, datasets) for _ in range(2)] == epochs[2:]


def test_without_a_seed_the_global_random_state_picks_one():
    datasets = _datasets({"a": 20, "b": 20, "c": 20})
    random.seed(7)  # what `allennlp train` does with `random_seed`
    first = RandomInterleaveScheduler(4)
    random.seed(7)
    second = RandomInterleaveScheduler(4)
    assert type(first.seed) is int and first.seed == second.seed
    assert _batches(first, datasets) == _batches(second, datasets)
    random.seed(8)
    assert RandomInterleaveScheduler(4).seed != first.seed


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        RandomInterleaveScheduler(0)


def test_the_first_draw_is_uniform_over_the_tasks_not_weighted_by_their_size():
    # 1, 2 and 3 batches: a draw weighted by the batches left would give 1/6, 2/6, 3/6.
    datasets = _datasets({"a": 2, "b": 4, "c": 6})
    seeds = 2000
    counts = Counter(_task(_batches(RandomInterleaveScheduler(2, seed=s), datasets)[0][0]) for s in range(seeds))
    assert all(abs(counts[name] / seeds - 1 / 3) < 0.04 for name in "abc"), counts


def test_every_draw_is_uniform_over_the_tasks_with_batches_left():
    # Batches left per task before each step, from the batches' own tasks; group the draws by the
    # set of tasks with batches left, and check each group's draws are close to uniform on that set.
    sizes = {"a": 1, "b": 2, "c": 4}  # in batches of 1
    datasets = _datasets(sizes)
    draws = defaultdict(Counter)
    for seed in range(2000):
        left = dict(sizes)
        for batch in _batches(RandomInterleaveScheduler(1, seed=seed), datasets):
            available = frozenset(name for name, count in left.items() if count)
            name = _task(batch[0])
            assert name in available
            draws[available][name] += 1
            left[name] -= 1
    assert len(draws) == 7  # every non-empty set of tasks occurs
    for available, counter in draws.items():
        total = sum(counter.values())
        if total < 200:
            continue
        for name in available:
            p = 1 / len(available)
            assert abs(counter[name] / total - p) <= 5 * (p * (1 - p) / total) ** 0.5, (available, counter)


def _conll_sentences(path):
    """Words of every sentence of a CoNLL file, read naively: blank-line blocks, first column, no -DOCSTART-."""
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    return [[line.split()[0] for line in block.splitlines()] for block in blocks if not block.startswith("-DOCSTART-")]


def _conllu_sentences(path):
    """Words of every sentence of a CoNLL-U file: the FORM of the lines whose ID is an integer."""
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    return [[line.split("\t")[1] for line in block.splitlines() if line.split("\t")[0].isdigit()] for block in blocks]


def _multitask_loader(**extra):
    params = {
        "type": "multitask",
        "reader": {  # the loader's argument is typed `MultiTaskDatasetReader`, so no "type" here
            "readers": {"ner": {"type": "ain_conll", "tag_scheme": "BIO"}, "pos": {"type": "ain_ud"}},
        },
        "data_path": {
            "ner": str(FIXTURES / "conll" / "ner_sample.txt"),
            "pos": str(FIXTURES / "ud" / "en_ewt_sample.conllu"),
        },
        "scheduler": {"type": "ain_random_interleave", "batch_size": 4, "seed": 3},
        **extra,
    }
    loader = DataLoader.from_params(Params(params))
    loader.index_with(Vocabulary.from_instances(loader.iter_instances()))
    return loader


def test_through_allennlp_multitask_loader_every_batch_is_one_task_and_every_instance_comes_once():
    expected = {
        "ner": sorted(map(tuple, _conll_sentences(FIXTURES / "conll" / "ner_sample.txt"))),
        "pos": sorted(map(tuple, _conllu_sentences(FIXTURES / "ud" / "en_ewt_sample.conllu"))),
    }
    assert {task: len(sentences) for task, sentences in expected.items()} == {"ner": 10, "pos": 8}
    loader = _multitask_loader()
    assert isinstance(loader.scheduler, RandomInterleaveScheduler)
    assert len(loader) == 3 + 2  # ner 4 + 4 + 2, pos 4 + 4
    orders = []
    for _ in range(3):
        seen = defaultdict(list)
        sizes = defaultdict(list)
        order = []
        for batch in loader:
            tasks = set(batch["task"])
            assert len(tasks) == 1  # the `task` metadata of the multitask reader: one task per batch
            task = tasks.pop()
            order.append(task)
            sizes[task].append(len(batch["task"]))
            seen[task].extend(tuple(metadata["words"]) for metadata in batch["metadata"])
            assert batch["tokens"]["tokens"]["tokens"].shape[0] == len(batch["task"])
        assert {task: sorted(sentences) for task, sentences in seen.items()} == expected
        assert sorted(sizes["ner"]) == [2, 4, 4] and sizes["pos"] == [4, 4]
        assert len(order) == len(loader)
        orders.append(order)
    assert sorted(orders[0]) == ["ner"] * 3 + ["pos"] * 2


def test_through_allennlp_multitask_loader_with_instances_per_epoch():
    # The uniform sampler gives each of the two tasks floor(0.5 * 6) = 3 instances an epoch: one batch of
    # 3 each. AllenNLP 2.10.1's `len` asks `count_batches` about 6 instances per task (allennlp#5693).
    loader = _multitask_loader(instances_per_epoch=6, sampler={"type": "uniform"})
    for _ in range(3):
        batches = list(loader)
        assert sorted(batch["task"][0] for batch in batches) == ["ner", "pos"]
        assert all(len(set(batch["task"])) == 1 and len(batch["task"]) == 3 for batch in batches)
    assert loader.scheduler.count_batches({"ner": 3, "pos": 3}) == 2
    assert len(loader) == 4  # the known defect of the loader, not of the scheduler


def _sized_datasets(sizes, seed=0):
    """Real instances with a `tokens` field of random length 1..40, named `<task>:<index>` in `name`."""
    from allennlp.data import Instance, Token
    from allennlp.data.fields import MetadataField, TextField

    generator = random.Random(seed)
    return {
        task: [
            Instance({
                "tokens": TextField([Token("w")] * generator.randint(1, 40)),
                "name": MetadataField(f"{task}:{i}"),
            })
            for i in range(size)
        ]
        for task, size in sizes.items()
    }


@pytest.mark.parametrize("drop_last", [False, True])
def test_bucketing_sorts_each_pool_and_keeps_everything_else(drop_last):
    sizes = {"pos": 53, "ner": 40, "chunk": 7}
    datasets = _sized_datasets(sizes)
    scheduler = RandomInterleaveScheduler(batch_size=4, seed=5, drop_last=drop_last, sorting_key="tokens", pool_batches=3)
    plain = RandomInterleaveScheduler(batch_size=4, seed=5, drop_last=drop_last)
    length = {instance["name"].metadata: len(instance["tokens"]) for items in datasets.values() for instance in items}
    for epoch in range(2):
        batches = _batches(scheduler, datasets)
        assert len(batches) == scheduler.count_batches(sizes) == plain.count_batches(sizes)
        names = [[instance["name"].metadata for instance in batch] for batch in batches]
        assert all(len({_task(name) for name in batch}) == 1 for batch in names)
        used = Counter(name for batch in names for name in batch)
        assert max(used.values()) == 1
        if not drop_last:
            assert sorted(used) == sorted(length)
        # each pool of 3 batches (12 instances, in the loader's order) is sorted by length, then cut:
        # the batches from one pool cover disjoint, contiguous length ranges
        for task, items in datasets.items():
            pools = [items[i : i + 12] for i in range(0, len(items), 12)]
            for pool in pools:
                members = {instance["name"].metadata for instance in pool}
                ranges = sorted(
                    (min(length[n] for n in batch), max(length[n] for n in batch))
                    for batch in names if set(batch) <= members
                )
                assert all(high <= next_low for (_, high), (next_low, _) in zip(ranges, ranges[1:]))
        padded = sum(len(batch) * max(length[n] for n in batch) for batch in names)
        unsorted = sum(len(batch) * max(length[i["name"].metadata] for i in batch) for batch in _batches(plain, datasets))
        assert padded < unsorted
    # reproducible from the seed
    again = RandomInterleaveScheduler(batch_size=4, seed=5, drop_last=drop_last, sorting_key="tokens", pool_batches=3)
    first = [[i["name"].metadata for i in b] for b in _batches(again, datasets)]
    assert first == [[i["name"].metadata for i in b] for b in _batches(
        RandomInterleaveScheduler(batch_size=4, seed=5, drop_last=drop_last, sorting_key="tokens", pool_batches=3), datasets)]


def test_bucketing_names_a_missing_field():
    scheduler = RandomInterleaveScheduler(batch_size=2, seed=1, sorting_key="words")
    with pytest.raises(ValueError, match="sorting_key 'words' is not a field"):
        _batches(scheduler, _sized_datasets({"pos": 3}))


def test_through_allennlp_multitask_loader_with_bucketing():
    loader = _multitask_loader(scheduler={"type": "ain_random_interleave", "batch_size": 4, "seed": 3, "sorting_key": "tokens"})
    assert len(loader) == 3 + 2
    seen = defaultdict(list)
    for batch in loader:
        task = set(batch["task"]).pop()
        lengths = [len(metadata["words"]) for metadata in batch["metadata"]]
        seen[task].extend(lengths)
    # one pool holds every instance of these small datasets, so each task's batches are sorted slices
    assert sorted(seen["ner"]) == sorted(len(s) for s in _conll_sentences(FIXTURES / "conll" / "ner_sample.txt"))
    assert sorted(seen["pos"]) == sorted(len(s) for s in _conllu_sentences(FIXTURES / "ud" / "en_ewt_sample.conllu"))
