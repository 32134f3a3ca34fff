"""
Mixed precision on the fixtures' trained models (the release-0.1.0 archives of
`fixtures/archives/`): under bf16 autocast on the CPU every output is finite and the tags agree
with float32 on at least 95% of the tokens (measured: see `docs/results.md`); the decoders compute
in float32 under autocast, and float64 stays float64 (`tests/modules/decoders`). On a GPU, fp16 and
bf16 autocast give the same guarantees, and training, decoding and prediction give the CPU's tags.
"""
import json
import math

import pytest
import torch
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

import allennlp_ain  # noqa: F401  (registers the components)
from tests.helpers import FIXTURES

ARCHIVES = FIXTURES / "archives"
EXPECTED = json.loads((ARCHIVES / "expected_predictions.json").read_text())
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _predict(name, device=-1, autocast=None):
    archive = load_archive(str(ARCHIVES / f"{name}.tar.gz"), cuda_device=device)
    predictor = Predictor.from_archive(archive, "ain_tagger")
    instances = list(archive.dataset_reader.read(str(FIXTURES / EXPECTED[name]["data"])))
    if autocast is None:
        return predictor.predict_batch_instance(instances)
    with torch.autocast("cuda" if device >= 0 else "cpu", dtype=autocast):
        return predictor.predict_batch_instance(instances)


def agreement(outputs, reference) -> float:
    pairs = [(a, b) for out, ref in zip(outputs, reference) for a, b in zip(out["tags"], ref["tags"])]
    return sum(a == b for a, b in pairs) / len(pairs)


def _finite(outputs) -> bool:
    return all(math.isfinite(c) for output in outputs for c in output["confidence"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bf16_autocast_on_the_cpu(name):
    reference = _predict(name)
    half = _predict(name, autocast=torch.bfloat16)
    assert _finite(half)
    assert agreement(half, reference) >= 0.95


@needs_gpu
@pytest.mark.parametrize("dtype", [None, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_on_the_gpu(name, dtype):
    reference = _predict(name)
    outputs = _predict(name, device=0, autocast=dtype)
    assert _finite(outputs)
    if dtype is None:
        assert [o["tags"] for o in outputs] == [r["tags"] for r in reference]
    else:
        assert agreement(outputs, reference) >= 0.95
