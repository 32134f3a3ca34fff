"""
`benchmarks/serving_speed.py` times one tagger served five ways: a `--quick` run on tiny models
writes a table with every contender, and the exported AIN-1O tagger (ONNX, run by
`allennlp_ain_onnx`) tags a batch exactly as the PyTorch `ain_tagger` behind the predictor does.
"""
import importlib.util
import json

import torch

from allennlp_ain.export import export_model
from tests.helpers import FIXTURES, ROOT

_spec = importlib.util.spec_from_file_location("serving_speed", ROOT / "benchmarks" / "serving_speed.py")
serving_speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serving_speed)

CONLL03 = FIXTURES / "conll" / "conll2003_sample.txt"
# tiny models and batches: the run takes seconds
TINY = ["--hidden", "8", "--vocabulary", "300", "--lengths", "5", "9", "--batch-size", "4", "--latency-sentences", "6"]


def test_a_quick_run_reports_every_contender(tmp_path):
    threads = torch.get_num_threads()
    try:
        results = serving_speed.main(["--quick", *TINY, "--data", str(CONLL03), "--out", str(tmp_path)])
    finally:
        torch.set_num_threads(threads)
    names = results["contenders"]
    assert [name.split()[0] for name in names] == ["(a)", "(b)", "(b)", "(c)", "(d)"]
    assert "AIN-1O" in names[2] and "AIN-1O" in names[3] and "int8" in names[4]
    table = (tmp_path / "serving_speed.md").read_text(encoding="utf-8")
    headers = ["| 5 words sent/s | × (a) |", "| 9 words sent/s | × (a) |", "| file sent/s | × (a) |", "| p99 ms |"]
    assert all(header in table for header in headers)
    for name in names:  # a row in the throughput table and one in the latency table
        rows = [line for line in table.splitlines() if line.startswith(f"| {name} |")]
        assert len(rows) >= 2 and all("nan" not in row and "inf" not in row for row in rows)
    assert "| (a) AllenNLP crf_tagger | " in table and "1.00× |" in table
    assert json.loads((tmp_path / "serving_speed.json").read_text()) == json.loads(json.dumps(results))
    onnx = results["agreement"][names[3]]
    assert onnx["reference"] == names[2] and onnx["tokens"] > 0 and onnx["equal_tokens"] == onnx["tokens"]
    assert results["file"]["sentences"] == 5 and results["latency"]["sentences"] == 6


def test_the_exported_tagger_gives_the_pytorch_tags(tmp_path):
    reader = serving_speed.DatasetReader.from_params(serving_speed.config("mfvi1").pop("dataset_reader"))
    sentences = [list(instance["metadata"]["words"]) for instance in reader.read(str(CONLL03))]
    crf, ain = serving_speed.untrained_models(300, 8, sentences)
    decoder = ain[0].head.decoder
    assert decoder.constrained and decoder.span_repair is not None  # the parallel valid decoding
    export_model(ain[0], ain[1], tmp_path / "exported", quantize=True)
    contenders = {c.name: c for c in serving_speed.build_contenders(crf, ain, tmp_path / "exported", threads=1)}
    words = serving_speed.vocabulary_words(ain[0])
    # one batch of several lengths (padding), words out of the vocabulary and unseen characters
    batch = sentences + serving_speed.random_batches(words, 11, 3, 1, seed=5)[0]
    batch += [["GERMANY", "beats", "Zürich", "😀", "x"], ["I"]]
    pytorch = contenders["(b) ain_tagger AIN-1O"].serve(batch)
    onnx = contenders["(c) ONNX AIN-1O"].serve(batch)
    assert [len(tags) for tags in onnx] == [len(words) for words in batch]
    assert len({tag for tags in pytorch for tag in tags}) >= 3  # tags that vary: a comparison that can fail
    assert onnx == pytorch
