import copy
import json

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Vocabulary
from allennlp.models import Model
from allennlp.modules import InputVariationalDropout

from allennlp_ain.modules.distillation import Distillation
from allennlp_ain.modules.word_dropout import WordDropout
from tests.helpers import FIXTURES

CONFIG = FIXTURES / "configs" / "ain_tagger.jsonnet"
DATA = FIXTURES / "ud" / "en_ewt_sample.conllu"


def decoder_names():
    # the config aliases of the lib; every one of them must be tested, none may vanish silently
    return ["maxent", "crf", "mfvi1", "mfvi2"]


class TestAinTagger(ModelTestCase):
    @pytest.mark.parametrize("decoder", decoder_names())
    def test_train_save_load_predict(self, decoder, monkeypatch):
        monkeypatch.setenv("DECODER", decoder)
        monkeypatch.setenv("FIXTURES", str(FIXTURES))
        self.set_up_model(CONFIG, DATA)
        self.ensure_model_can_train_save_and_load(self.param_file, tolerance=1e-4)
        self.ensure_batch_predictions_are_consistent(keys_to_ignore=["logits", "mask", "marginals"])

    def test_trains_with_variational_and_word_dropout(self, monkeypatch):
        monkeypatch.setenv("DECODER", "crf")
        monkeypatch.setenv("FIXTURES", str(FIXTURES))
        self.set_up_model(CONFIG, DATA)
        overrides = '{"model.variational_dropout": true, "model.word_dropout": 0.05}'
        model, _ = self.ensure_model_can_train_save_and_load(self.param_file, tolerance=1e-4, overrides=overrides)
        assert isinstance(model.dropout, InputVariationalDropout) and model.word_dropout.p == 0.05

    @pytest.mark.parametrize("decoder", decoder_names())
    def test_outputs_metrics_and_readable_tags(self, decoder, monkeypatch):
        monkeypatch.setenv("DECODER", decoder)
        monkeypatch.setenv("FIXTURES", str(FIXTURES))
        self.set_up_model(CONFIG, DATA)
        self.model.eval()
        batch = self.dataset.as_tensor_dict()
        output = self.model(**batch)
        mask = output["mask"]
        assert output["tags"].shape == mask.shape
        marginals = output["marginals"]
        torch.testing.assert_close(marginals.sum(-1)[mask], torch.ones(int(mask.sum())), atol=1e-4, rtol=0)
        assert ((output["confidence"] > 0) & (output["confidence"] <= 1 + 1e-6))[mask].all()
        metrics = self.model.get_metrics(reset=True)
        assert set(metrics) == {"accuracy"} and all(isinstance(v, float) for v in metrics.values())
        readable = self.model.make_output_human_readable(output)
        labels = set(self.vocab.get_token_to_index_vocabulary("labels"))
        for words, tags in zip(readable["words"], readable["tags"]):
            assert len(tags) == len(words) and set(tags) <= labels

    def test_teacher_batch_fields_add_the_distillation_loss(self, monkeypatch):
        monkeypatch.setenv("DECODER", "crf")
        monkeypatch.setenv("FIXTURES", str(FIXTURES))
        self.set_up_model(CONFIG, DATA)
        teacher = self.model.eval()
        batch = self.dataset.as_tensor_dict()
        with torch.no_grad():
            output = teacher(**batch, top_k=3)
            log_marginals = teacher.head.decoder.infer(output["logits"], output["mask"]).log_marginals
        fields = {
            "teacher_logits": output["logits"],
            "teacher_log_marginals": log_marginals,
            "teacher_topk_tags": output["top_k_tags"],
            "teacher_topk_scores": output["top_k_scores"],
        }
        overrides = {"model.distillation": {"loss": "posterior+top_wk", "k": 3, "interpolation": 0.3}}
        params = Params.from_file(self.param_file, params_overrides=json.dumps(overrides))
        student = Model.from_params(vocab=self.vocab, params=params["model"])
        result = student(**batch, **fields)
        gold = student.head.decoder.loss(result["logits"], batch["tags"], result["mask"])
        torch.testing.assert_close(result["loss"], 0.3 * result["distillation_loss"] + 0.7 * gold)
        assert result["distillation_loss"] > 0
        result["loss"].backward()
        assert student.head.decoder.transitions.grad.abs().sum() > 0
        # the teacher as its own student (evaluation mode, no dropout): the posterior KL is 0
        teacher.head.distillation = Distillation("posterior", temperature=2.25)
        assert teacher(**batch, **fields)["distillation_loss"].item() == pytest.approx(0.0, abs=1e-6)
        assert set(student.state_dict()) == set(teacher.state_dict())  # distillation holds no weights


def _tiny_vocab() -> Vocabulary:
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["O", "B-PER", "I-PER"], "labels")
    return vocab


# a tagger with 4-dimensional embeddings and no context, for tests of its settings
_TINY_TAGGER = {
    "type": "ain_tagger",
    "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 4, "num_embeddings": 5}}},
    "encoder": {"type": "pass_through", "input_dim": 4},
}


def _tiny_tagger(**settings) -> Model:
    """The tiny tagger with `settings` added to (or replacing) its configuration."""
    return Model.from_params(Params({**copy.deepcopy(_TINY_TAGGER), **settings}), vocab=_tiny_vocab())


def test_bad_configurations_are_refused():
    with pytest.raises(ConfigurationError, match="label_encoding"):
        _tiny_tagger(label_encoding="XYZ")
    with pytest.raises(ConfigurationError, match="constrain_decoding needs"):
        _tiny_tagger(constrain_decoding=True)
    with pytest.raises(ConfigurationError, match="encoder input dim"):
        _tiny_tagger(encoder={"type": "pass_through", "input_dim": 3})
    model = _tiny_tagger(label_encoding="BIO", constrain_decoding=True)
    assert model.head.decoder.constrained and type(model.head.decoder).__name__ == "LinearChainCrf"
    # the label vocabulary (O, B-PER, I-PER: a reader that wrote BIO) against the model's encoding
    with pytest.raises(ConfigurationError, match="BIOES.*B-PER"):  # B- without E-: not BIOES data
        _tiny_tagger(label_encoding="BIOES")
    with pytest.raises(ConfigurationError, match="I-PER"):  # BMES has no I-
        _tiny_tagger(label_encoding="BMES")
    assert _tiny_tagger(label_encoding="IOB2").head.label_encoding == "BIO"  # an alias
    for bad in ({"dropout": 1.0}, {"dropout": -0.1}, {"word_dropout": 1.0}):
        with pytest.raises(ConfigurationError, match="dropout must be in"):
            _tiny_tagger(**bad)


def test_word_dropout_zeroes_whole_tokens_in_training_only():
    torch.manual_seed(0)
    embedded = torch.rand(64, 50, 6) + 1.0  # no zeros of its own
    dropout = WordDropout(0.3)
    out = dropout(embedded)
    dropped = (out == 0).all(-1)
    kept = (out == embedded).all(-1)
    assert (dropped | kept).all()  # a token is dropped entirely or kept unscaled
    assert abs(dropped.float().mean().item() - 0.3) < 0.03
    dropout.eval()
    assert torch.equal(dropout(embedded), embedded)
    assert torch.equal(WordDropout(0.0)(embedded), embedded)
    with pytest.raises(ValueError, match="word dropout"):
        WordDropout(1.0)


def test_variational_dropout_shares_one_mask_across_time():
    model = _tiny_tagger(dropout=0.5, variational_dropout=True)
    model.train()
    out = model.dropout(torch.ones(8, 20, 4))
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same mask at every time step
    assert (out == 0).any() and (out == 2).any()

