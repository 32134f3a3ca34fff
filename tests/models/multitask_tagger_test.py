"""The multi-task tagger: trained, saved, loaded and used through AllenNLP's own machinery."""
import json

import pytest
import torch
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from allennlp_ain.models import MultiTaskTagger
from tests.helpers import FIXTURES

CONFIG = FIXTURES / "configs" / "multitask.jsonnet"
SENTENCE = "Maria Lopez flew to Berlin with John Smith ."


def _params(encoder: str) -> Params:
    return Params.from_file(str(CONFIG), ext_vars={"FIXTURES": str(FIXTURES), "ENCODER": encoder})


@pytest.fixture(scope="module", params=["sc_lstm", "shared", "layer_per_task"])
def trained(request, tmp_path_factory):
    run = tmp_path_factory.mktemp(f"multitask_{request.param}")
    model = train_model(_params(request.param), str(run))
    return request.param, run, model


def test_trains_with_per_task_metrics_and_loads(trained):
    _, run, model = trained
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"validation_pos_accuracy", "validation_ner_f1-measure-overall", "validation_ner_accuracy"} <= set(metrics)
    archive = load_archive(str(run / "model.tar.gz"))
    assert isinstance(archive.model, MultiTaskTagger) and sorted(archive.model.heads) == ["ner", "pos"]
    for name, parameter in archive.model.state_dict().items():
        torch.testing.assert_close(parameter, model.state_dict()[name])


def test_predicts_every_task_in_input_order_from_one_pass(trained):
    _, run, _ = trained
    archive = load_archive(str(run / "model.tar.gz"))
    predictor = Predictor.from_archive(archive)  # the model's default predictor
    inputs = [{"sentence": SENTENCE}, {"tokens": ["Anna", "visited", "Paris", "."]}, {"sentence": "Rain ."}]
    batch = predictor.predict_batch_json(inputs)
    for result, one in zip(batch, inputs):
        alone = predictor.predict_json(one)
        assert set(result) == {"tokens", "pos", "ner"} and result["tokens"] == alone["tokens"]
        for task in ("pos", "ner"):
            assert result[task]["tags"] == alone[task]["tags"]
            assert result[task]["confidence"] == pytest.approx(alone[task]["confidence"], abs=1e-5)
            assert len(result[task]["tags"]) == len(result["tokens"])
        assert "spans" in result["ner"] and "spans" not in result["pos"]
        pos_labels = set(archive.model.vocab.get_token_to_index_vocabulary("pos_labels"))
        assert set(result["pos"]["tags"]) <= pos_labels
    only_ner = Predictor.from_archive(archive, "ain_tagger", extra_args={"task": "ner"})
    flat = only_ner.predict_json(inputs[0])
    assert flat["tags"] == batch[0]["ner"]["tags"] and "pos" not in flat


def test_one_task_per_batch_and_the_loss_weight(trained):
    _, run, _ = trained
    archive = load_archive(str(run / "model.tar.gz"))
    model, reader = archive.model, archive.dataset_reader
    paths = {"pos": FIXTURES / "ud/en_ewt_sample.conllu", "ner": FIXTURES / "conll/ner_sample.txt"}
    by_task = {task: list(reader.readers[task].read(str(path)))[:3] for task, path in paths.items()}  # with a task field
    for task, instances in by_task.items():
        for instance in instances:
            reader.readers[task].apply_token_indexers(instance)
    model.eval()
    for task, weight in (("pos", 1.0), ("ner", 3.0)):
        batch = Batch(by_task[task])
        batch.index_instances(model.vocab)
        tensors = batch.as_tensor_dict()
        output = model(**tensors)
        assert set(k.split("_")[0] for k in output if k not in ("loss", "words")) == {task}
        mask = output[f"{task}_mask"]
        head = model.heads[task]
        expected = head.decoder.loss(output[f"{task}_logits"], tensors["tags"], mask)
        torch.testing.assert_close(output["loss"], weight * expected)
    mixed = Batch(by_task["pos"][:1] + by_task["ner"][:1])
    mixed.index_instances(model.vocab)
    with pytest.raises(ValueError, match="a batch must hold one task"):
        model(**mixed.as_tensor_dict())


def test_configuration_errors():
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["NOUN", "VERB"], "pos_labels")
    base = {
        "type": "ain_multitask_tagger",
        "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 4, "num_embeddings": 5}}},
        "encoder": {"type": "ain_sc_lstm", "input_dim": 4, "hidden_size": 3, "tasks": ["pos", "chunk"]},
        "heads": {"pos": {"label_namespace": "pos_labels"}, "chunk": {"label_namespace": "pos_labels"}},
    }
    model = Model.from_params(Params(json.loads(json.dumps(base))), vocab=vocab)
    assert model.heads["pos"].projection.in_features == 12  # [q_fwd; q_bwd; h_fwd; h_bwd]
    with pytest.raises(ConfigurationError, match="must be the encoder's tasks"):
        Model.from_params(Params({**json.loads(json.dumps(base)), "heads": {"pos": {"label_namespace": "pos_labels"}}}), vocab=vocab)
    with pytest.raises(ConfigurationError, match="unknown tasks"):
        Model.from_params(Params({**json.loads(json.dumps(base)), "loss_weights": {"ner": 3}}), vocab=vocab)
