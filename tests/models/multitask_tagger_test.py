"""The multi-task tagger: trained, saved, loaded and used through AllenNLP's own machinery."""
import json
import math

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
from allennlp_ain.modules.text_field_embedders import MultilingualEmbedder
from allennlp_ain.modules.token_embedders import HighwayEmbedder
from tests.helpers import CONFIGS, FIXTURES

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


# Several languages (Lin et al., 2018): the language of a batch comes from its metadata, its words
# from its language's embedding; several datasets share a task through `dataset_tasks`.


def _tiny_multilingual_model() -> MultiTaskTagger:
    """One-dimensional words, a pass-through encoder and a `pos` head with a Dutch gate, with weights
    set by hand: universal `u = [h, -h]`, Dutch specific `s = [1, 2h]`, Dutch gate `g = [1/2, 3/4]`."""
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["huis"], "tokens_nl")
    vocab.add_tokens_to_namespace(["house"], "tokens_en")
    vocab.add_tokens_to_namespace(["NOUN", "VERB"], "pos_labels")
    words = {"type": "embedding", "embedding_dim": 1}
    params = {
        "type": "ain_multitask_tagger",
        "text_field_embedder": {
            "type": "ain_multilingual",
            "words": {"nl": {**words, "vocab_namespace": "tokens_nl"}, "en": {**words, "vocab_namespace": "tokens_en"}},
        },
        "encoder": {"type": "ain_shared", "tasks": ["pos"], "encoder": {"type": "pass_through", "input_dim": 1}},
        "heads": {"pos": {"label_namespace": "pos_labels", "decoder": {"type": "maxent"}, "languages": ["nl"]}},
        "dataset_tasks": {"nl_pos": "pos", "en_pos": "pos"},
    }
    model = Model.from_params(Params(params), vocab=vocab)
    head = model.heads["pos"]
    with torch.no_grad():
        model.text_field_embedder.words["nl"].weight[2] = 2.0  # "huis": h = 2
        model.text_field_embedder.words["en"].weight[2] = -1.0  # "house": h = -1
        head.projection.weight.copy_(torch.tensor([[1.0], [-1.0]]))
        head.projection.bias.zero_()
        head.language_projections["nl"].weight.copy_(torch.tensor([[0.0], [2.0]]))
        head.language_projections["nl"].bias.copy_(torch.tensor([1.0, 0.0]))
        head.language_gates["nl"].weight.zero_()
        head.language_gates["nl"].bias.copy_(torch.tensor([0.0, math.log(3.0)]))  # σ(0) = 1/2, σ(ln 3) = 3/4
    return model.eval()


def _tiny_batch(language: str, word_language: str, dataset: str = "nl_pos"):
    return {
        "tokens": {f"tokens_{word_language}": {"tokens": torch.tensor([[2]])}},
        "metadata": [{"words": ["w"], "language": language}],
        "task": [dataset],
    }


def test_gate_mixing_by_hand_and_the_universal_layer_for_other_languages():
    model = _tiny_multilingual_model()
    assert model.languages == ["nl"]
    # Dutch, h = 2: u = [2, -2], s = [1, 4], g = [1/2, 3/4]: g·s + (1 - g)·u = [1.5, 2.5]
    torch.testing.assert_close(model(**_tiny_batch("nl", "nl"))["pos_logits"], torch.tensor([[[1.5, 2.5]]]))
    # English has no Dutch gate, nor one of its own: the universal layer, h = -1: [-1, 1]
    torch.testing.assert_close(model(**_tiny_batch("en", "en", "en_pos"))["pos_logits"], torch.tensor([[[-1.0, 1.0]]]))
    # zero-shot: Dutch words read as an unseen language get the universal layer alone, h = 2: [2, -2]
    torch.testing.assert_close(model(**_tiny_batch("de", "nl"))["pos_logits"], torch.tensor([[[2.0, -2.0]]]))
    # no task field (prediction): every head, the language still from the metadata
    prediction = model(tokens=_tiny_batch("nl", "nl")["tokens"], metadata=[{"words": ["huis"], "language": "nl"}])
    torch.testing.assert_close(prediction["pos_logits"], torch.tensor([[[1.5, 2.5]]]))
    assert prediction["pos_tags"].tolist() == [[1]]


def test_a_batch_holds_one_language_and_datasets_name_their_task():
    model = _tiny_multilingual_model()
    batch = _tiny_batch("nl", "nl")
    batch["tokens"]["tokens_nl"]["tokens"] = torch.tensor([[2], [2]])
    batch["metadata"] = [{"words": ["huis"], "language": "nl"}, {"words": ["huis"], "language": "en"}]
    batch["task"] = ["nl_pos", "nl_pos"]
    with pytest.raises(ValueError, match="one language"):
        model(**batch)
    with pytest.raises(ValueError, match="unknown task 'nl_ner'"):
        model(**_tiny_batch("nl", "nl", "nl_ner"))
    with pytest.raises(ValueError, match="one known language"):
        model(**_tiny_batch("nl", "de"))
    params = {
        "type": "ain_multitask_tagger",
        "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 1, "num_embeddings": 3}}},
        "encoder": {"type": "ain_shared", "tasks": ["pos"], "encoder": {"type": "pass_through", "input_dim": 1}},
        "heads": {"pos": {"label_namespace": "pos_labels"}},
        "dataset_tasks": {"nl_pos": "ner"},
    }
    with pytest.raises(ConfigurationError, match="name unknown tasks"):
        Model.from_params(Params(params), vocab=model.vocab)


DUTCH_NER = CONFIGS / "multilingual" / "dutch_ner.jsonnet"
DUTCH_NER_FIXTURES = {
    "NL_NER_TRAIN": FIXTURES / "conll" / "conll2002_ned_sample.txt",
    "NL_NER_DEV": FIXTURES / "conll" / "conll2002_ned_sample.txt",
    "NL_NER_TEST": FIXTURES / "conll" / "conll2002_ned_sample.txt",
    "EN_NER_TRAIN": FIXTURES / "conll" / "conll2003_sample.txt",
    "NL_POS_TRAIN": FIXTURES / "ud" / "nl_lassysmall_sample.conllu",
    "EN_POS_TRAIN": FIXTURES / "ud" / "en_ewt_sample.conllu",
}


def test_every_configured_component_exists_receives_gradient_and_is_saved(tmp_path):
    """Lin et al.'s own code once silently never built its language-specific layers: here every
    component the multilingual lib configures is built, trains and comes back from the archive."""
    ext_vars = {key: str(path) for key, path in DUTCH_NER_FIXTURES.items()}
    ext_vars.update(TARGET_SAMPLE="all", TARGET_SEED="1", ABLATION="all", ENCODER="lstm_s", DECODER="crf",
                    NL_EMBEDDINGS="", EN_EMBEDDINGS=str(FIXTURES / "embeddings" / "glove_sample.txt"), CUDA_DEVICE="-1")
    overrides = {"model.encoder.encoder.hidden_size": 4, "trainer.num_epochs": 1}
    params = Params.from_file(str(DUTCH_NER), params_overrides=json.dumps(overrides), ext_vars=ext_vars)
    model = train_model(params, str(tmp_path / "run"))

    embedder = model.text_field_embedder
    assert isinstance(embedder, MultilingualEmbedder) and embedder.languages == ["en", "nl"]
    for language in ("en", "nl"):
        assert embedder.words[language].weight.shape[0] == model.vocab.get_vocab_size(f"tokens_{language}")
    dutch, english = (model.vocab.get_token_to_index_vocabulary(f"tokens_{x}") for x in ("nl", "en"))
    assert {"museum", "wonen"} <= dutch.keys() and not {"museum", "wonen"} & english.keys()  # NER and POS words
    assert "visited" in english and "visited" not in dutch
    characters = embedder.shared["token_characters"]
    assert isinstance(characters, HighwayEmbedder) and characters.embedder._encoder._module._ngram_filter_sizes == [2, 3, 4]
    assert sorted(model.heads) == ["ner", "pos"] and model.languages == ["en", "nl"]
    for head in model.heads.values():
        assert sorted(head.language_projections) == sorted(head.language_gates) == ["en", "nl"]
    assert model.heads["ner"].label_encoding == "BIOES" and model.heads["pos"].label_encoding is None
    pos_labels = set(model.vocab.get_token_to_index_vocabulary("pos_labels"))
    assert "CCONJ" in pos_labels and "CONJ" not in pos_labels  # the Dutch UD v1 tags renamed

    # one batch of every dataset: every parameter gets a gradient
    archive = load_archive(str(tmp_path / "run" / "model.tar.gz"))
    reader = archive.dataset_reader
    model.train()
    model.zero_grad()
    for name in ("nl_ner", "en_ner", "nl_pos", "en_pos"):
        instances = list(reader.readers[name].read(ext_vars[f"{name.upper()}_TRAIN"]))[:4]
        for instance in instances:
            reader.readers[name].apply_token_indexers(instance)
        batch = Batch(instances)
        batch.index_instances(model.vocab)
        model(**batch.as_tensor_dict())["loss"].backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name

    # and the archive holds every one of them
    saved = archive.model.state_dict()
    assert saved.keys() == model.state_dict().keys()
    for task in ("ner", "pos"):
        for language in ("en", "nl"):
            assert f"task_heads.{task}.language_gates.{language}.weight" in saved
            assert f"task_heads.{task}.language_projections.{language}.weight" in saved
    assert {f"text_field_embedder.words.{language}.weight" for language in ("en", "nl")} <= saved.keys()


def test_teacher_fields_reach_their_task_head_with_the_loss_weight():
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["NOUN", "VERB", "ADJ"], "pos_labels")
    vocab.add_tokens_to_namespace(["a", "b"], "tokens")
    params = {
        "type": "ain_multitask_tagger",
        "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 2}}},
        "encoder": {"type": "ain_shared", "tasks": ["pos"], "encoder": {"type": "pass_through", "input_dim": 2}},
        "heads": {
            "pos": {"label_namespace": "pos_labels", "distillation": {"loss": "posterior", "interpolation": 0.25}}
        },
        "loss_weights": {"pos": 2.0},
    }
    model = Model.from_params(Params(params), vocab=vocab)
    tokens = {"tokens": {"tokens": torch.tensor([[2, 3, 1], [3, 1, 0]])}}
    tags = torch.tensor([[0, 1, 2], [2, 0, 0]])
    teacher_log_marginals = torch.log_softmax(torch.randn(2, 3, 3, generator=torch.Generator().manual_seed(0)), -1)
    output = model(tokens=tokens, tags=tags, task=["pos", "pos"], teacher_log_marginals=teacher_log_marginals)
    head = model.heads["pos"]
    mask = tokens["tokens"]["tokens"] != 0
    inference = head.decoder.infer(output["pos_logits"], mask)
    gold = inference.loss(tags)
    kd = output["pos_distillation_loss"]
    kl = torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=teacher_log_marginals[mask]),
        torch.distributions.Categorical(logits=inference.log_marginals[mask]),
    )
    torch.testing.assert_close(kd, kl.sum() / 2)  # summed over tokens, averaged over sentences
    torch.testing.assert_close(output["loss"], 2.0 * (0.25 * kd + 0.75 * gold))
    assert "pos_distillation_loss" in model.get_metrics()
    with pytest.raises(ValueError, match="teacher signals need a task field"):
        model(tokens=tokens, teacher_log_marginals=teacher_log_marginals)
