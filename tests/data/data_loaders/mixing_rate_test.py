"""Lin et al.'s task mixing rate as a scheduler: rates and epoch composition against hand counts."""
import json
import math
from collections import Counter

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.data.data_loaders import DataLoader

from allennlp_ain.data.data_loaders import MixingRateScheduler
from tests.helpers import FIXTURES

TASKS = {"nl_ner": "ner", "en_ner": "ner", "nl_pos": "pos", "en_pos": "pos"}
LANGUAGES = {"nl_ner": "nl", "en_ner": "en", "nl_pos": "nl", "en_pos": "en"}
# the Dutch target sampled to 200 sentences; the auxiliaries' full training sets
SIZES = {"nl_ner": 200, "en_ner": 14041, "nl_pos": 6641, "en_pos": 12544}


def _scheduler(batch_size=10, seed=3, **kwargs):
    return MixingRateScheduler(batch_size, target="nl_ner", tasks=TASKS, languages=LANGUAGES, seed=seed, **kwargs)


def _datasets(sizes):
    """Instances are strings `"<dataset>:<index>"`, so a batch's dataset and an instance's rank are visible."""
    return {name: [f"{name}:{i}" for i in range(size)] for name, size in sizes.items()}


def _epoch(scheduler, datasets):
    return list(scheduler.batch_instances({name: iter(items) for name, items in datasets.items()}))


def test_rates_and_batches_per_epoch_by_hand():
    scheduler = _scheduler()
    # r = μ ζ √N: the target 1·1·√200 = 14.142; English NER 1·0.1·√14041 = 11.849;
    # Dutch POS 0.1·1·√6641 = 8.149; English POS 0.1·0.1·√12544 = 0.01·112 = 1.12
    rates = scheduler.rates(SIZES)
    assert rates == pytest.approx({"nl_ner": 14.1421, "en_ner": 11.8494, "nl_pos": 8.1492, "en_pos": 1.12}, abs=1e-4)
    # 200 / 10 = 20 target batches; int(11.849 / 14.142 · 20) = int(16.76) = 16;
    # int(8.149 / 14.142 · 20) = int(11.52) = 11; int(1.12 / 14.142 · 20) = int(1.58) = 1
    assert scheduler.batches_per_epoch(SIZES) == {"nl_ner": 20, "en_ner": 16, "nl_pos": 11, "en_pos": 1}
    assert scheduler.count_batches(SIZES) == 48
    # a last, smaller target batch counts: ceil(205 / 10) = 21; int(11.849 / 14.318 · 21) = int(17.38)
    assert scheduler.batches_per_epoch({**SIZES, "nl_ner": 205})["en_ner"] == 17
    # the full Dutch training set: 1581 target batches; int(0.1·√(14041 / 15806) · 1581) = int(149.0)
    full = scheduler.batches_per_epoch({**SIZES, "nl_ner": 15806})
    assert full["nl_ner"] == 1581 and full["en_ner"] == int(0.1 * math.sqrt(14041 / 15806) * 1581)


def test_the_factors_are_parameters():
    scheduler = _scheduler(other_task=1.0, other_language=0.5)
    counts = {"nl_ner": 100, "en_ner": 400, "nl_pos": 100, "en_pos": 100}
    # 10 target batches; en_ner: 0.5·√4 = 1.0 → 10; nl_pos: 1·1·1 → 10; en_pos: 1·0.5·1 → 5
    assert scheduler.batches_per_epoch(counts) == {"nl_ner": 10, "en_ner": 10, "nl_pos": 10, "en_pos": 5}


def test_an_epoch_is_every_target_batch_once_and_the_auxiliaries_first_instances():
    sizes = {"nl_ner": 23, "en_ner": 900, "nl_pos": 40, "en_pos": 3}
    scheduler = _scheduler(batch_size=5, other_task=0.5, other_language=0.5)
    # 5 target batches (the last of 3); en_ner 0.5·√(900/23) = 3.128 → int(15.6) = 15;
    # nl_pos 0.5·√(40/23) = 0.659 → int(3.30) = 3; en_pos 0.25·√(3/23) = 0.0903 → int(0.45) = 0
    expected = {"nl_ner": 5, "en_ner": 15, "nl_pos": 3, "en_pos": 0}
    assert scheduler.batches_per_epoch(sizes) == expected
    datasets = _datasets(sizes)
    orders = []
    for _ in range(3):
        batches = _epoch(scheduler, datasets)
        assert len(batches) == sum(expected.values()) == scheduler.count_batches(sizes)
        names = [batch[0].split(":")[0] for batch in batches]
        assert all({item.split(":")[0] for item in batch} == {name} for name, batch in zip(names, batches))
        assert Counter(names) == {name: count for name, count in expected.items() if count}
        taken = {name: [item for batch, n in zip(batches, names) if n == name for item in batch] for name in sizes}
        assert sorted(taken["nl_ner"]) == sorted(datasets["nl_ner"])  # every target instance once
        assert taken["en_ner"] == datasets["en_ner"][:75] and taken["nl_pos"] == datasets["nl_pos"][:15]
        assert all(len(batch) == 5 for batch, n in zip(batches, names) if n != "nl_ner")
        orders.append(names)
    assert orders[0] != orders[1] or orders[1] != orders[2]  # a fresh order every epoch
    again = _scheduler(batch_size=5, other_task=0.5, other_language=0.5)
    assert [[b[0].split(":")[0] for b in _epoch(again, datasets)] for _ in range(3)] == orders  # seeded


def test_a_short_auxiliary_starts_again_from_its_first_instance():
    scheduler = MixingRateScheduler(2, target="t", tasks={"t": "ner", "a": "ner"}, languages={"t": "nl", "a": "nl"}, seed=1)
    # the same task and language: r_a / r_t = √(3 / 16); 8 target batches → int(3.46) = 3 batches of 2 > 3 instances
    batches = _epoch(scheduler, _datasets({"t": 16, "a": 3}))
    auxiliary = [item for batch in batches if batch[0].startswith("a:") for item in batch]
    assert auxiliary == ["a:0", "a:1", "a:2", "a:0", "a:1", "a:2"]


def test_bucketing_keeps_the_counts(tmp_path):
    """Through AllenNLP's multitask loader and the project's readers: `len(loader)` is the epoch's
    batch count, batches hold one dataset, and bucketing by length changes none of it."""
    readers = {
        "nl_ner": {"type": "ain_conll", "tag_scheme": "BIO", "convert_to": "BIOES", "language": "nl"},
        "en_ner": {"type": "ain_conll", "label_column": 3, "tag_scheme": "IOB1", "convert_to": "BIOES", "language": "en"},
        "nl_pos": {"type": "ain_ud", "language": "nl"},
        "en_pos": {"type": "ain_ud", "language": "en"},
    }
    paths = {
        "nl_ner": str(FIXTURES / "conll" / "conll2002_ned_sample.txt"),
        "en_ner": str(FIXTURES / "conll" / "conll2003_sample.txt"),
        "nl_pos": str(FIXTURES / "ud" / "nl_lassysmall_sample.conllu"),
        "en_pos": str(FIXTURES / "ud" / "en_ewt_sample.conllu"),
    }
    scheduler = {"type": "ain_mixing_rate", "batch_size": 1, "target": "nl_ner", "tasks": TASKS, "languages": LANGUAGES,
                 "other_task": 1.0, "other_language": 1.0, "sorting_key": "tokens"}
    from allennlp.data import DatasetReader

    reader = DatasetReader.from_params(Params({"type": "multitask", "readers": readers}))
    loader = DataLoader.from_params(Params(json.loads(json.dumps({"type": "multitask", "scheduler": scheduler}))),
                                    reader=reader, data_path=paths)
    loader.index_with(Vocabulary.from_instances(loader.iter_instances()))
    counts = {name: len(list(reader.readers[name].read(path))) for name, path in paths.items()}
    expected = loader.scheduler.batches_per_epoch(counts)
    assert counts["nl_ner"] == 4 and expected["nl_ner"] == 4
    assert len(loader) == sum(expected.values())
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        assert Counter(batch["task"][0] for batch in batches) == {n: c for n, c in expected.items() if c}
        assert all(len(set(batch["task"])) == 1 for batch in batches)


def test_configuration_errors():
    with pytest.raises(ConfigurationError, match="not one of the datasets"):
        MixingRateScheduler(2, target="x", tasks=TASKS, languages=LANGUAGES)
    with pytest.raises(ConfigurationError, match="must name the same datasets"):
        MixingRateScheduler(2, target="nl_ner", tasks=TASKS, languages={"nl_ner": "nl"})
    with pytest.raises(ValueError, match="not the configured"):
        _scheduler().rates({"nl_ner": 3})
