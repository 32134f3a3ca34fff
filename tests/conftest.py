"""Session fixtures shared by the predictor, spaCy component and docs tests."""
import os
from pathlib import Path
from typing import Optional, Tuple

import pytest
from filelock import FileLock

from tests.helpers import FIXTURES

NER_SAMPLE = FIXTURES / "conll" / "ner_sample.txt"


def _shared_archive(tmp_path_factory, name: str, train) -> Path:
    """The archive `train(serialization_dir)` writes, trained once per session (under pytest-xdist,
    by the first worker that needs it, in the session's folder common to the workers)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent  # this session's folder, common to its workers
        with FileLock(str(shared / f"{name}.lock")):
            archive = shared / name / "run" / "model.tar.gz"
            if not archive.is_file():
                train(archive.parent)
        return archive
    return train(tmp_path_factory.mktemp(name) / "run")


@pytest.fixture(scope="session")
def trained_archive(tmp_path_factory) -> Path:
    """
    A tiny NER `ain_tagger` (BiLSTM, constrained CRF, BIOES labels converted from the fixture's BIO
    tags), trained once per session on `fixtures/conll/ner_sample.txt` until it knows its sentences;
    the path of its archive. Under pytest-xdist the workers share one archive in the session's
    temporary folder, trained by the first worker that needs it.
    """
    return _shared_archive(tmp_path_factory, "ner_model", _train)


@pytest.fixture(scope="session")
def multilingual_archive(tmp_path_factory) -> Path:
    """
    A tiny multilingual multi-task model (Lin et al., 2018): `training_configs/multilingual/dutch_ner.jsonnet`
    with every dataset (Dutch and English NER and POS: word embeddings for `en` and `nl`, gates for
    both in both heads), small layers, one epoch on the fixtures; the path of its archive.
    """
    return _shared_archive(tmp_path_factory, "multilingual_model", _train_multilingual)


@pytest.fixture(scope="session")
def conll03_teacher_archive(tmp_path_factory) -> Path:
    """
    A CRF NER teacher as `training_configs/distillation/` expects one: `conll03_ner.jsonnet` (word
    encoder, `crf`) trained for a few epochs on the CoNLL-2003 fixture, so its labels are those the
    lib's configs give a student on that fixture (BIOES and `@@UNKNOWN@@`); the path of its archive.
    """
    return _shared_archive(tmp_path_factory, "conll03_teacher", _train_conll03_teacher)


@pytest.fixture(scope="session")
def union_labels_teacher(tmp_path_factory) -> str:
    """
    A CRF teacher (`conll03_ner.jsonnet`, word encoder, one epoch on the English fixture, scored on
    it as its test set) whose label vocabulary holds the labels of all three NER fixtures
    (`FIXTURE_NER_LABELS`), as real CoNLL teachers share one; the path of its archive.
    """
    from tests.helpers import FIXTURE_NER_LABELS

    overrides = {"trainer.num_epochs": 1, "vocabulary.tokens_to_add.labels": FIXTURE_NER_LABELS}
    train = lambda run: _train_conll03_teacher(run, overrides)  # noqa: E731
    return str(_shared_archive(tmp_path_factory, "union_labels_teacher", train))


@pytest.fixture(scope="session")
def fine_tuned_teacher(tmp_path_factory) -> Tuple[str, str]:
    """A multilingual student without KD on the English and Spanish fixtures (`multilingual_ner.jsonnet`,
    one epoch), and that model fine-tuned on Spanish alone for two epochs (`BASE`): a Spanish
    `ain_multitask_tagger` teacher; the paths of both archives."""
    from tests.helpers import train_multilingual_ner

    root = tmp_path_factory.mktemp("fine_tuned_teacher")
    base = train_multilingual_ner(root / "base", "en,es", "es")
    return base, train_multilingual_ner(root / "es_teacher", "es", "es", base=base, epochs=2)


def _train_conll03_teacher(serialization_dir: Path, overrides: Optional[dict] = None) -> Path:
    import json

    from allennlp.commands.train import train_model
    from allennlp.common import Params

    import allennlp_ain  # noqa: F401  (registers the components)
    from tests.helpers import CONFIGS, GLOVE

    data = str(FIXTURES / "conll" / "conll2003_sample.txt")
    ext_vars = {"TRAIN_DATA": data, "DEV_DATA": data, "TEST_DATA": data, "ENCODER": "word", "DECODER": "crf",
                "GLOVE": str(GLOVE), "CUDA_DEVICE": "-1"}
    overrides = json.dumps(overrides or {"trainer.num_epochs": 5, "evaluate_on_test": False})
    params = Params.from_file(str(CONFIGS / "conll03_ner.jsonnet"), params_overrides=overrides, ext_vars=ext_vars)
    train_model(params, str(serialization_dir), file_friendly_logging=True)
    return serialization_dir / "model.tar.gz"


def _train_multilingual(serialization_dir: Path) -> Path:
    from allennlp.commands.train import train_model

    import allennlp_ain  # noqa: F401  (registers the readers, embedder and model)
    from tests.helpers import multilingual_params

    train_model(multilingual_params("dutch_ner.jsonnet"), str(serialization_dir), file_friendly_logging=True)
    return serialization_dir / "model.tar.gz"


def _train(serialization_dir: Path) -> Path:
    from allennlp.commands.train import train_model
    from allennlp.common import Params

    import allennlp_ain  # noqa: F401  (registers the reader and model)

    params = Params(
        {
            "dataset_reader": {"type": "ain_conll", "tag_scheme": "BIO", "convert_to": "BIOES"},
            "train_data_path": str(NER_SAMPLE),
            "model": {
                "type": "ain_tagger",
                "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 16}}},
                "encoder": {"type": "lstm", "input_size": 16, "hidden_size": 16, "bidirectional": True},
                "decoder": {"type": "crf"},
                "label_encoding": "BIOES",
                "constrain_decoding": True,
            },
            "data_loader": {"batch_size": 4, "shuffle": True},
            "trainer": {"optimizer": {"type": "adam", "lr": 0.05}, "num_epochs": 15, "cuda_device": -1},
        }
    )
    train_model(params, str(serialization_dir), file_friendly_logging=True)
    archive = serialization_dir / "model.tar.gz"
    assert archive.is_file()
    return archive
