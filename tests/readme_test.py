"""The README's table of registered components matches the registries and the files."""
import inspect
import re
from pathlib import Path

from allennlp.common import Registrable
from allennlp.data import DatasetReader, TokenIndexer
from allennlp.data.data_loaders.multitask_scheduler import MultiTaskScheduler
from allennlp.models import Model
from allennlp.models.heads import Head
from allennlp.commands.subcommand import Subcommand
from allennlp.modules import Seq2SeqEncoder, TextFieldEmbedder
from allennlp.modules.token_embedders import TokenEmbedder
from allennlp.predictors import Predictor
from allennlp.training.callbacks.callback import TrainerCallback
from allennlp.training.checkpointer import Checkpointer
from allennlp.training.learning_rate_schedulers import LearningRateScheduler
from allennlp.training.metrics import Metric

import allennlp_ain  # noqa: F401  (registers everything)
import allennlp_ain_spacy
from allennlp_ain.modules.decoders import SequenceDecoder
from allennlp_ain.modules.multitask_encoders import MultiTaskEncoder
from tests.helpers import ROOT

KINDS = {
    "Model": Model,
    "Head": Head,
    "SequenceDecoder": SequenceDecoder,
    "DatasetReader": DatasetReader,
    "Seq2SeqEncoder": Seq2SeqEncoder,
    "MultiTaskEncoder": MultiTaskEncoder,
    "TokenIndexer": TokenIndexer,
    "TokenEmbedder": TokenEmbedder,
    "TextFieldEmbedder": TextFieldEmbedder,
    "Subcommand": Subcommand,
    "Metric": Metric,
    "MultiTaskScheduler": MultiTaskScheduler,
    "LearningRateScheduler": LearningRateScheduler,
    "TrainerCallback": TrainerCallback,
    "Checkpointer": Checkpointer,
    "Predictor": Predictor,
}
ROW = re.compile(r"^\| `(?P<name>[a-z0-9_-]+)`[^|]*\| (?P<kind>[^|]+?) \| `(?P<file>[^`]+)`", re.MULTILINE)


def _rows():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| registered name | kind | file |") :].split("\n\n")[0]
    return [match.groupdict() for match in ROW.finditer(table)]


def test_every_row_names_the_class_registered_under_it_and_its_file():
    rows = _rows()
    assert len(rows) >= 15
    for row in rows:
        kind = row["kind"].strip("` ")
        if kind == "spaCy factory":
            assert Path(inspect.getfile(allennlp_ain_spacy.make_ain_tagger)) == ROOT / row["file"]
            continue
        registered = KINDS[kind].by_name(row["name"])
        assert Path(inspect.getfile(registered)) == ROOT / row["file"], row


def test_every_component_of_the_package_is_in_the_table():
    listed = {(row["kind"].strip("` "), row["name"]) for row in _rows()}
    for kind, base in KINDS.items():
        registry = Registrable._registry[base]
        for name, (cls, _) in registry.items():
            if cls.__module__.startswith("allennlp_ain."):
                assert (kind, name) in listed, (kind, name)
