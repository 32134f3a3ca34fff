"""
Every supported encoder x decoder of the lib, exported and run by onnxruntime, tags as the PyTorch
model does: tags equal and confidences within 1e-4, on batches of mixed lengths and one sentence
at a time; a model that cannot be exported is refused with a clear message.
"""
import json

import pytest

from allennlp_ain.export import ExportError, export_model
from allennlp_ain.predictors import AinTaggerPredictor
from allennlp_ain_onnx import ExportedTagger
from tests.export.archives import build_model, fixture_sentences

ENCODERS = ("bilstm", "cnn", "word")
EXPORTED_DECODERS = ("maxent", "mfvi1", "mfvi2")


def assert_same_outputs(exported: list, reference: list) -> None:
    assert len(exported) == len(reference)
    for ours, theirs in zip(exported, reference):
        assert ours["tokens"] == theirs["tokens"]
        assert ours["tags"] == theirs["tags"]
        assert ours["confidence"] == pytest.approx(theirs["confidence"], abs=1e-4)
        assert ours.get("spans") == theirs.get("spans")


@pytest.mark.parametrize("decoder", EXPORTED_DECODERS)
@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_exported_tagger_tags_as_the_pytorch_model(encoder, decoder, tmp_path):
    model, reader = build_model(encoder, decoder)
    folder = export_model(model, reader, tmp_path / "exported", progress=lambda line: None)
    description = json.loads((folder / "tagger.json").read_text())
    assert description["check"]["tags_equal"] and description["quantized_model_file"] is None
    sentences = fixture_sentences()
    reference = AinTaggerPredictor(model, reader).predict_batch_json([{"tokens": words} for words in sentences])
    tagger = ExportedTagger(folder)
    # batches of mixed lengths, and one sentence at a time
    assert_same_outputs(tagger.tag_batch(sentences, batch_size=4), reference)
    assert_same_outputs([tagger.tag(words) for words in sentences[-3:]], reference[-3:])
    assert all("spans" in output for output in reference)  # the NER model reads spans
    for bad in (["Peter", " "], ["Peter", ""], "Peter Blackburn", ["Peter", 3]):  # refused as the predictor refuses them
        with pytest.raises(ValueError, match="sentence 1 must be a list of non-blank strings"):
            tagger.tag_batch([["fine"], bad])


def test_quantized_export_tags_most_tokens_alike(tmp_path):
    model, reader = build_model("bilstm", "mfvi2")
    folder = export_model(model, reader, tmp_path / "exported", quantize=True, progress=lambda line: None)
    assert (folder / "model.int8.onnx").stat().st_size < (folder / "model.onnx").stat().st_size
    sentences = fixture_sentences()
    float_tags = [o["tags"] for o in ExportedTagger(folder).tag_batch(sentences)]
    int8 = ExportedTagger(folder, quantized=True).tag_batch(sentences)
    same = sum(a == b for o, tags in zip(int8, float_tags) for a, b in zip(o["tags"], tags))
    assert same >= 0.9 * sum(len(tags) for tags in float_tags)
    # a later export without --quantize removes the stale int8 graph
    export_model(model, reader, folder, progress=lambda line: None)
    assert not (folder / "model.int8.onnx").exists()
    with pytest.raises(ValueError, match="no quantized model"):
        ExportedTagger(folder, quantized=True)


def test_the_crf_decoder_is_refused_with_the_supported_ones(tmp_path):
    model, reader = build_model("word", "crf")
    with pytest.raises(ExportError, match=r"'crf' decoder cannot be exported.*loops over the positions.*'maxent', 'mfvi'"):
        export_model(model, reader, tmp_path / "exported")
    assert not (tmp_path / "exported").exists()


# Constrained decoding of maxent / mfvi exports when it runs in parallel over positions (the
# valid-span decoding of `factorized.py`).
@pytest.mark.parametrize("decoder", EXPORTED_DECODERS)
def test_constrained_decoding_exports(decoder, tmp_path):
    model, reader = build_model("bilstm", decoder, constrained=True)
    assert model.head.decoder.constrained
    folder = export_model(model, reader, tmp_path / "exported", progress=lambda line: None)
    sentences = fixture_sentences()
    reference = AinTaggerPredictor(model, reader).predict_batch_json([{"tokens": words} for words in sentences])
    assert_same_outputs(ExportedTagger(folder).tag_batch(sentences, batch_size=3), reference)


def test_a_constrained_decoder_that_loops_over_positions_is_refused_not_exported_wrong(tmp_path):
    model, reader = build_model("word", "maxent", constrained=True)
    decoder = model.head.decoder
    if getattr(decoder, "span_repair", None) is not None:
        decoder.span_repair = None  # force the sequential Viterbi pass
    with pytest.raises(ExportError, match="does not match PyTorch.*constrained decoding loops over the positions"):
        export_model(model, reader, tmp_path / "exported", progress=lambda line: None)


def test_an_embedder_other_than_the_basic_one_is_refused_with_a_clear_message(tmp_path):
    from allennlp.modules.token_embedders import Embedding

    from allennlp_ain.modules.text_field_embedders import MultilingualEmbedder

    model, reader = build_model("word", "maxent")
    width = model.text_field_embedder.get_output_dim()
    model.text_field_embedder = MultilingualEmbedder({"en": Embedding(embedding_dim=width, num_embeddings=5)})
    with pytest.raises(ExportError, match="text field embedder MultilingualEmbedder cannot be exported"):
        export_model(model, reader, tmp_path / "exported", progress=lambda line: None)
