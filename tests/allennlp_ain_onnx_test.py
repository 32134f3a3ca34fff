"""The runtime of exported taggers: numpy and onnxruntime only, AllenNLP's indexing, the span reader."""
import random
import subprocess
import sys

import pytest
import torch
from allennlp.data import Batch

from allennlp_ain.export import export_model
from allennlp_ain.tag_schemes import extract_spans
from allennlp_ain_onnx import ExportedTagger, read_spans
from tests.export.archives import build_model, fixture_sentences


def test_importing_the_runtime_imports_neither_torch_nor_allennlp():
    code = "import sys, allennlp_ain_onnx; print(sorted(m for m in ('torch', 'allennlp', 'allennlp_ain') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("encoder", ["bilstm", "word"])  # characters + lowercased words; cased words
def test_words_become_the_ids_allennlp_makes(encoder, tmp_path):
    model, reader = build_model(encoder, "maxent")
    tagger = ExportedTagger(export_model(model, reader, tmp_path / "exported", progress=lambda line: None))
    sentences = fixture_sentences()
    instances = [reader.text_to_instance(words) for words in sentences]
    for instance in instances:
        reader.apply_token_indexers(instance)
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    expected = batch.as_tensor_dict()["tokens"]
    ours = tagger.index(sentences)
    assert sorted(ours) == sorted(expected)
    for name, tensors in expected.items():
        assert torch.equal(torch.from_numpy(ours[name]), next(iter(tensors.values()))), name
    assert tagger.tag([]) == {"tokens": [], "tags": [], "confidence": [], "spans": []}


def test_the_span_reader_reads_as_tag_schemes():
    labels = ["O", "@@UNKNOWN@@", "X"] + [f"{p}-{t}" for p in "BIESLUM" for t in ("PER", "LOC")]
    generator = random.Random(0)
    for _ in range(3000):
        tags = [generator.choice(labels) for _ in range(generator.randint(0, 8))]
        assert read_spans(tags) == extract_spans(tags), tags


def test_a_folder_without_description_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not an exported tagger"):
        ExportedTagger(tmp_path)
