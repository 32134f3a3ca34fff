"""Tiny untrained `ain_tagger`s built from the shipped configs on the fixtures, for the export tests."""
import json
from pathlib import Path
from typing import Any, Tuple

import torch
from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model
from allennlp.models.archival import archive_model

import allennlp_ain  # noqa: F401  (registers the components)
from tests.helpers import CONFIGS, FIXTURES

CONLL03 = FIXTURES / "conll" / "conll2003_sample.txt"
# As in tests/training_configs_test.py: the GloVe words join the vocabulary. (The lib's character
# embedding takes its size from the `tokens` namespace, so a word vocabulary smaller than the
# character one, the fixture's alone, would not fit the character ids.)
GLOVE = FIXTURES / "embeddings" / "glove_sample.txt"
# Smaller layers than the paper's, as in tests/training_configs_test.py
SMALL = {"bilstm": {"model.encoder.hidden_size": 8}, "cnn": {"model.encoder.hidden_dim": 8}, "word": {}}


def _params(encoder: str, decoder: str, constrained: bool) -> Params:
    data = str(CONLL03)
    ext_vars = {"TRAIN_DATA": data, "DEV_DATA": data, "TEST_DATA": data, "ENCODER": encoder, "DECODER": decoder}
    overrides = {**SMALL[encoder], "model.constrain_decoding": constrained}
    return Params.from_file(
        str(CONFIGS / "conll03_ner.jsonnet"),
        params_overrides=json.dumps(overrides),
        ext_vars={**ext_vars, "GLOVE": str(GLOVE), "CUDA_DEVICE": "-1"},
    )


def build_model(encoder: str, decoder: str, constrained: bool = False, seed: int = 0) -> Tuple[Any, Any]:
    """
    `(model, reader)` of `conll03_ner.jsonnet`'s cell (`encoder`, `decoder`, a name of the lib's
    `decoders`) on the CoNLL-2003 fixture: vocabulary from it and the GloVe sample, random weights, the
    decoder's included (so that the transitions matter), untrained, in evaluation mode.
    `constrained` sets `constrain_decoding`.
    """
    params = _params(encoder, decoder, constrained)
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    vocab = Vocabulary.from_params(params.pop("vocabulary"), instances=reader.read(str(CONLL03)))
    torch.manual_seed(seed)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    with torch.no_grad():
        for parameter in model.head.decoder.parameters():
            parameter.normal_(0.0, 1.0)
    return model.eval(), reader


def build_archive(directory: Path, encoder: str, decoder: str, constrained: bool = False, seed: int = 0) -> Path:
    """The `model.tar.gz` (in `directory`) of `build_model(encoder, decoder, constrained, seed)`."""
    config = json.dumps(_params(encoder, decoder, constrained).as_dict(quiet=True))
    model, _ = build_model(encoder, decoder, constrained, seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(config)
    model.vocab.save_to_files(str(directory / "vocabulary"))
    torch.save(model.state_dict(), directory / "best.th")
    archive_model(str(directory))
    return directory / "model.tar.gz"


def fixture_sentences() -> list:
    """The CoNLL-2003 fixture's sentences (words), plus words it lacks: other case, unseen characters."""
    sentences = []
    for block in CONLL03.read_text(encoding="utf-8").split("\n\n"):
        words = [line.split()[0] for line in block.splitlines() if line.strip() and not line.startswith("-DOCSTART-")]
        if words:
            sentences.append(words)
    sentences.append(["GERMANY", "beats", "brazil", "in", "Zürich", "😀", "x"])
    sentences.append(["I"])
    return sentences
