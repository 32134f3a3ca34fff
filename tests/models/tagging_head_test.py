"""The tagging head on its own: built from a config, tensors in, per-language projections, one
decoder inference per evaluated batch, k best paths, readable output, label checks, the
distillation loss added to the gold loss."""
import copy

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models.heads import Head

from allennlp_ain.models import TaggingHead
from allennlp_ain.modules.decoders import Inference
from allennlp_ain.modules.distillation import TeacherSignals

LABELS = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


def _vocab() -> Vocabulary:
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(LABELS, "ner_labels")
    return vocab


def _head(**settings) -> TaggingHead:
    params = {"type": "ain_tagging_head", "input_dim": 4, "label_namespace": "ner_labels", **settings}
    return Head.from_params(Params(params), vocab=_vocab())


def _batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    encoded = torch.randn(3, 5, 4, generator=generator)
    mask = torch.arange(5).unsqueeze(0) < torch.tensor([[5], [3], [1]])
    tags = torch.randint(0, len(LABELS), (3, 5), generator=generator)
    return encoded, mask, tags


def test_built_from_a_config_with_the_default_decoder():
    head = _head(label_encoding="BIOUL", constrain_decoding=True)
    assert isinstance(head, TaggingHead) and head.label_encoding == "BIOES"
    assert type(head.decoder).__name__ == "LinearChainCrf" and head.decoder.constrained and head.has_topk
    assert not _head(decoder={"type": "mfvi"}).has_topk


def test_forward_loss_metrics_and_one_inference_per_evaluated_batch(monkeypatch):
    head = _head(label_encoding="BIOES", decoder={"type": "mfvi", "order": 2})
    head.eval()
    encoded, mask, tags = _batch()
    calls = []
    original = head.decoder.infer

    def counting(logits, mask):
        calls.append(1)
        return original(logits, mask)

    monkeypatch.setattr(head.decoder, "infer", counting)
    iterate = head.decoder._iterate
    iterations = []
    monkeypatch.setattr(head.decoder, "_iterate", lambda *a: iterations.append(1) or iterate(*a))
    output = head(encoded, mask, tags)
    assert len(calls) == 1 and len(iterations) == 1  # tags, marginals and loss from one mean-field run
    logits = head.projection(encoded)
    torch.testing.assert_close(output["logits"], logits)
    torch.testing.assert_close(output["loss"], head.decoder.loss(logits, tags, mask))
    assert torch.equal(output["tags"], head.decoder.decode(logits, mask))
    torch.testing.assert_close(output["marginals"], head.decoder.marginals(logits, mask))
    metrics = head.get_metrics(reset=True)
    assert {"accuracy", "precision-overall", "recall-overall", "f1-measure-overall"} <= set(metrics)


def test_k_best_paths_in_forward_and_after_it():
    head = _head(label_encoding="BIOES")
    head.eval()
    encoded, mask, _ = _batch(1)
    output = head(encoded, mask, top_k=3)
    again = head.top_k(output["logits"], mask, 3)
    assert torch.equal(output["top_k_tags"], again["top_k_tags"])
    torch.testing.assert_close(output["top_k_log_probs"], again["top_k_log_probs"])
    assert torch.equal(output["top_k_tags"][:, 0], output["tags"])
    readable = head.make_output_human_readable(output)
    assert [len(paths) for paths in readable["top_k"]] == [3, 3, 3]
    assert all(len(path["tags"]) == n for paths, n in zip(readable["top_k"], [5, 3, 1]) for path in paths)
    assert readable["tags"][2] in ([label] for label in LABELS)
    with pytest.raises(ValueError, match="MaxEnt decoder has no k-best decoding"):
        _head(decoder={"type": "maxent"}).top_k(output["logits"], mask, 2)
    assert head.make_output_human_readable({"loss": 1.0}) == {"loss": 1.0}  # another head's output


def test_per_language_projection_equals_its_definition_and_unseen_languages_use_the_universal_one():
    head = _head(languages=["nl", "es"], decoder={"type": "maxent"})
    encoded, mask, tags = _batch(2)
    universal = encoded @ head.projection.weight.t() + head.projection.bias
    specific = encoded @ head.language_projections["nl"].weight.t() + head.language_projections["nl"].bias
    gate = torch.sigmoid(encoded @ head.language_gates["nl"].weight.t() + head.language_gates["nl"].bias)
    torch.testing.assert_close(head(encoded, mask, language="nl")["logits"], gate * specific + (1 - gate) * universal)
    torch.testing.assert_close(head(encoded, mask, language="de")["logits"], universal)  # zero-shot
    torch.testing.assert_close(head(encoded, mask)["logits"], universal)
    head(encoded, mask, tags, language="es")["loss"].backward()
    for name, parameter in head.named_parameters():
        assert (parameter.grad is not None) == ("nl" not in name), name
    assert {name.split(".")[0] for name, _ in head.named_parameters()} == {
        "projection", "language_projections", "language_gates"
    }


def test_label_vocabulary_is_checked_against_the_encoding():
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["O", "B-PER", "I-PER", "@@UNKNOWN@@"], "labels")
    with pytest.raises(ConfigurationError, match="BIOES"):
        TaggingHead(vocab, 4, label_encoding="BIOES")
    assert TaggingHead(vocab, 4, label_encoding="BIO").label_encoding == "BIO"
    with pytest.raises(ConfigurationError, match="XYZ"):
        TaggingHead(vocab, 4, label_encoding="XYZ")
    with pytest.raises(ConfigurationError, match="constrain_decoding needs"):
        TaggingHead(vocab, 4, constrain_decoding=True)
    assert isinstance(TaggingHead(vocab, 4).decoder.infer(torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.bool)), Inference)


def _teacher_signals(head, encoded, mask, k=3):
    """A teacher for `head`: the same head with other weights, its outputs as tensors."""
    teacher = copy.deepcopy(head)
    with torch.no_grad():
        for parameter in teacher.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(5)))
        inference = teacher.decoder.infer(teacher.projection(encoded), mask)
        tags, scores = inference.topk(k)
        return {
            "teacher_logits": inference.logits,
            "teacher_log_marginals": inference.log_marginals,
            "teacher_topk_tags": tags,
            "teacher_topk_scores": scores,
        }


@pytest.mark.parametrize(
    "decoder, loss", [("crf", "posterior+top_wk"), ("crf", "top_k"), ("mfvi", "top_wk"), ("maxent", "emission")]
)
def test_distillation_loss_is_interpolated_with_the_gold_loss_and_its_weight_can_be_set(decoder, loss):
    distillation = {"loss": loss, "k": 3} if "top" in loss else {"loss": loss}
    head = _head(label_encoding="BIOES", decoder={"type": decoder}, distillation=distillation)
    encoded, mask, tags = _batch(3)
    teacher = _teacher_signals(_head(label_encoding="BIOES"), encoded, mask)
    output = head(encoded, mask, tags, **teacher)
    inference = head.decoder.infer(output["logits"], mask)
    signals = TeacherSignals(*(teacher[f"teacher_{name}"] for name in TeacherSignals._fields))
    kd = head.distillation.loss(inference, signals)
    gold = inference.loss(tags)
    torch.testing.assert_close(output["distillation_loss"], kd)
    torch.testing.assert_close(output["loss"], 0.5 * kd + 0.5 * gold)
    output["loss"].backward()
    assert head.projection.weight.grad.abs().sum() > 0
    # λ is a plain attribute (a callback anneals it)
    head.distillation.interpolation = 0.9
    torch.testing.assert_close(head(encoded, mask, tags, **teacher)["loss"], 0.9 * kd + 0.1 * gold)
    # without teacher signals (validation), the gold loss alone
    plain = head(encoded, mask, tags)
    torch.testing.assert_close(plain["loss"], gold)
    assert "distillation_loss" not in plain
    assert head.get_metrics(reset=True)["distillation_loss"] == pytest.approx(kd.item(), rel=1e-5)


def test_distillation_errors():
    encoded, mask, tags = _batch(4)
    teacher = _teacher_signals(_head(label_encoding="BIOES"), encoded, mask)
    with pytest.raises(ValueError, match="without a distillation loss"):
        _head(label_encoding="BIOES")(encoded, mask, tags, **teacher)
    with pytest.raises(ConfigurationError, match="MaxEnt decoder cannot be a student of 'top_wk'"):
        _head(decoder={"type": "maxent"}, distillation={"loss": "top_wk"})
    head = _head(label_encoding="BIOES", distillation={"loss": "top_wk", "k": 5})
    with pytest.raises(ValueError, match="gives 3 paths per sentence; this distillation uses k = 5"):
        head(encoded, mask, tags, **teacher)


@pytest.mark.parametrize("loss", ["posterior+top_wk", "emission"])
def test_tokens_padded_beyond_the_teacher_fields_give_the_same_loss(loss):
    # an indexer's token_min_padding_length pads the tokens (and the mask) beyond the longest
    # sentence; the teacher's fields stop at it
    distillation = {"loss": loss, "k": 3} if "top" in loss else {"loss": loss}
    head = _head(label_encoding="BIOES", decoder={"type": "crf"}, distillation=distillation)
    encoded, mask, tags = _batch(3)
    teacher = _teacher_signals(_head(label_encoding="BIOES"), encoded, mask)
    expected = head(encoded, mask, tags, **teacher)["loss"]
    extra = 4
    padded = head(
        torch.cat([encoded, torch.randn(encoded.size(0), extra, encoded.size(2))], dim=1),
        torch.cat([mask, mask.new_zeros(mask.size(0), extra)], dim=1),
        torch.cat([tags, tags.new_zeros(tags.size(0), extra)], dim=1),
        **teacher,
    )["loss"]
    torch.testing.assert_close(padded, expected)
