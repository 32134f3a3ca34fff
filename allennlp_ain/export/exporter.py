"""
Turn an `ain_tagger` archive into a serving artefact: a folder with `model.onnx` (input ids →
label ids, confidences, marginals) and `tagger.json` (everything needed to turn words into those
ids exactly as the archive's token indexers do, and the labels). `allennlp_ain_onnx.ExportedTagger`
runs it with numpy and onnxruntime alone.

# Why the TorchScript exporter (`torch.onnx.export(..., dynamo=False)`)

Both of torch 2.13's exporters were tried on the BiLSTM + character-CNN + AIN-F2O tagger with a
dynamic batch size, sentence length and word length:

- the TorchScript (tracing) exporter writes the graph in about 1 s; the recurrent encoder becomes
  ONNX `LSTM` nodes, whose loop over time runs inside onnxruntime, so every length works, and the
  outputs match PyTorch for batch sizes 1 to 5 and lengths 1 to 31 (tags equal, confidences within
  2e-7);
- the dynamo exporter (`torch.export`, then onnxscript) took about 45 s and specialised the
  sentence length to the example's (its decomposition of `aten.lstm` unrolls the time loop), so the
  graph refused any other length; `torch.export` also specialises every dimension that is 1 in
  the example.

The tracing exporter's weakness, that a Python loop over a tensor's length is unrolled for the
example's length, is the reason why only decoders without such a loop are exported (`maxent`,
`mfvi`, and their constrained decoding when it runs in parallel), and why every export is checked
against PyTorch on batches of other shapes than the traced one before it is written: a graph that
froze a length fails that check instead of tagging wrongly later.
"""
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
import torch
from allennlp.data import DatasetReader, Vocabulary
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenCharactersIndexer
from allennlp.models import Model
from allennlp.modules import Seq2SeqEncoder

from allennlp_ain.data.token_indexers import CasedSingleIdTokenIndexer
from allennlp_ain.export.graph import ExportError, ExportedTaggerGraph, check_decoder, example_inputs, registered_name
from allennlp_ain.modules.decoders import MeanField

logger = logging.getLogger(__name__)

FORMAT = "allennlp-ain-exported-tagger"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "tagger.json"
MODEL_FILE = "model.onnx"
QUANTIZED_MODEL_FILE = "model.int8.onnx"
OUTPUT_NAMES = ("tags", "confidence", "marginals")
OPSET = 17
# The runtime pads every batch to at least this many positions (padding changes no real token's
# output); written to tagger.json. 1: every graph runs a batch of one-word sentences (the parallel
# valid decoding gathers its `length - 1` transitions instead of reshaping them, which ONNX's
# `Reshape` would read as "keep this dimension" for a size of 0).
MIN_BATCH_LENGTH = 1
# the traced example's shape: sizes above 1 and all different, so that no dimension is confused
# with another or specialised
_TRACE_SHAPE = (3, 7, 5)
# the shapes every export is checked on, besides the traced one: (batch, length, characters)
_CHECK_SHAPES = ((1, 1, 1), (1, 4, 2), (2, 5, 3), (4, 13, 8), (3, 31, 6))
CONFIDENCE_TOLERANCE = 1e-4


def describe_indexers(reader: DatasetReader, vocab: Vocabulary) -> List[Dict[str, Any]]:
    """
    The reader's token indexers as `tagger.json` describes them, in the reader's order (the ONNX
    inputs' order): per indexer its name, `kind` (`"words"` or `"characters"`), the vocabulary by
    id, the OOV id and the settings that change ids (case, padding). `ExportError` for an indexer
    whose ids the runtime could not reproduce.
    """
    inner = getattr(reader, "inner", reader)
    indexers = getattr(inner, "_token_indexers", None)
    if not indexers:
        raise ExportError(f"the dataset reader {type(inner).__name__} has no token indexers to describe")
    described = []
    for name, indexer in indexers.items():
        if isinstance(indexer, SingleIdTokenIndexer):
            cased = isinstance(indexer, CasedSingleIdTokenIndexer)
            if type(indexer) not in (SingleIdTokenIndexer, CasedSingleIdTokenIndexer):
                raise ExportError(f"the token indexer {name!r} ({type(indexer).__name__}) cannot be exported")
            if indexer.namespace is None:
                raise ExportError(f"the token indexer {name!r} reads ids from the tokens (namespace null)")
            if indexer._start_tokens or indexer._end_tokens or indexer._feature_name != "text":
                raise ExportError(
                    f"the token indexer {name!r} adds start/end tokens or reads a feature other than the text"
                )
            entry = _vocabulary_entry(vocab, indexer.namespace)
            entry.update(
                name=name,
                kind="words",
                lowercase_tokens=bool(indexer.lowercase_tokens),
                lowercase_fallback=cased,
                token_min_padding_length=indexer._token_min_padding_length,
            )
        elif isinstance(indexer, TokenCharactersIndexer) and type(indexer) is TokenCharactersIndexer:
            tokenizer = indexer._character_tokenizer
            if indexer._start_tokens or indexer._end_tokens or tokenizer._start_tokens or tokenizer._end_tokens:
                raise ExportError(f"the character indexer {name!r} adds start/end tokens; it cannot be exported")
            entry = _vocabulary_entry(vocab, indexer._namespace)
            entry.update(
                name=name,
                kind="characters",
                lowercase_characters=bool(tokenizer._lowercase_characters),
                byte_encoding=tokenizer._byte_encoding,
                min_padding_length=indexer._min_padding_length,
                token_min_padding_length=indexer._token_min_padding_length,
            )
        else:
            raise ExportError(
                f"the token indexer {name!r} ({type(indexer).__name__}) cannot be exported; "
                "single_id, ain_cased_single_id and characters can"
            )
        described.append(entry)
    return described


def _vocabulary_entry(vocab: Vocabulary, namespace: str) -> Dict[str, Any]:
    by_id = vocab.get_index_to_token_vocabulary(namespace)
    tokens = [by_id[i] for i in range(len(by_id))]
    oov = vocab._oov_token
    return {"namespace": namespace, "vocabulary": tokens, "oov_id": tokens.index(oov) if oov in tokens else None}


def describe_model(model: Model) -> Dict[str, Any]:
    """The decoder, encoder and labels of an `ain_tagger`, as `tagger.json` records them."""
    head = model.head
    decoder = head.decoder
    described: Dict[str, Any] = {"type": check_decoder(decoder), "constrained": bool(decoder.constrained)}
    if isinstance(decoder, MeanField):
        described.update(order=decoder.order, iterations=decoder.iterations)
    return {
        "labels": head.labels,
        "label_encoding": head.label_encoding,
        "decoder": described,
        "encoder": registered_name(model.encoder, Seq2SeqEncoder),
    }


def build_graph(model: Model, reader: DatasetReader, vocab: Vocabulary) -> Tuple[ExportedTaggerGraph, List[Dict[str, Any]]]:
    """The exportable graph of an `ain_tagger` (in evaluation mode) and its indexers' description."""
    if not hasattr(model, "head") or type(model).__name__ != "AinTagger":
        raise ExportError(
            f"only single-task `ain_tagger` models can be exported, got {type(model).__name__}"
        )
    check_decoder(model.head.decoder)
    indexers = describe_indexers(reader, vocab)
    graph = ExportedTaggerGraph(model.eval(), {entry["name"]: entry["kind"] for entry in indexers}).eval()
    return graph, indexers


def export_model(
    model: Model,
    reader: DatasetReader,
    output_dir: Union[str, Path],
    quantize: bool = False,
    source: Optional[str] = None,
    progress: Callable[[str], None] = logger.info,
) -> Path:
    """
    Write the serving artefact of `model` (an `ain_tagger`) and its dataset `reader` into
    `output_dir`: `model.onnx`, `tagger.json` and, with `quantize`, `model.int8.onnx` (int8
    dynamic weight quantization by onnxruntime). The float graph is checked against PyTorch
    on batches of several shapes before anything is written; `ExportError` when it does not match.

    # Parameters

    model : `Model`
        An `ain_tagger` with a `maxent` or `mfvi` decoder.
    reader : `DatasetReader`
        The reader whose token indexers turn words into the model's ids.
    output_dir : `Union[str, Path]`
        Created if needed; existing files of the artefact are replaced.
    quantize : `bool`, optional (default = `False`)
        Also write `model.int8.onnx`.
    source : `str`, optional (default = `None`)
        Where the model came from (the archive's path), recorded in `tagger.json`.
    progress : `Callable[[str], None]`, optional (default = the module logger's `info`)
        Called with a line for each step.

    # Returns

    The artefact's folder.
    """
    import onnx  # noqa: F401  (the exporter needs it; fail here with a clear message if absent)

    output_dir = Path(output_dir)
    graph, indexers = build_graph(model, reader, model.vocab)
    description: Dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    description.update(
        model_file=MODEL_FILE,
        quantized_model_file=QUANTIZED_MODEL_FILE if quantize else None,
        inputs=indexers,
        min_batch_length=MIN_BATCH_LENGTH,
        outputs=list(OUTPUT_NAMES),
        **describe_model(model),
        exporter=f"torch {torch.__version__} torch.onnx.export (TorchScript tracing, dynamo=False), opset {OPSET}",
        source=source,
    )
    with tempfile.TemporaryDirectory() as scratch:
        onnx_path = Path(scratch) / MODEL_FILE
        progress(f"tracing and writing the ONNX graph (decoder {description['decoder']['type']}, encoder {description['encoder']})")
        _export_onnx(graph, onnx_path)
        progress("checking the ONNX graph against PyTorch on batches of several sizes and lengths")
        report = check_against_pytorch(graph, onnx_path)
        progress(f"the ONNX graph agrees: tags equal, confidence within {report['max_confidence_difference']:.2e}")
        output_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(onnx_path, output_dir / MODEL_FILE)
        if quantize:
            progress("quantizing the weights to int8 (onnxruntime dynamic quantization)")
            _quantize(output_dir / MODEL_FILE, output_dir / QUANTIZED_MODEL_FILE, Path(scratch))
            agreement = quantized_agreement(graph, output_dir / QUANTIZED_MODEL_FILE)
            description["quantized_check"] = agreement
            progress(
                f"the int8 graph gives the float tags on {agreement['tag_agreement']:.2%} of random test tokens "
                f"(confidence within {agreement['max_confidence_difference']:.3f})"
            )
        elif (output_dir / QUANTIZED_MODEL_FILE).exists():
            (output_dir / QUANTIZED_MODEL_FILE).unlink()  # a stale one from an earlier export
    description["check"] = report
    (output_dir / DESCRIPTION_FILE).write_text(json.dumps(description, ensure_ascii=False, indent=1), encoding="utf-8")
    progress(f"wrote {output_dir / MODEL_FILE} and {output_dir / DESCRIPTION_FILE}")
    return output_dir


def export_archive(
    archive: Union[str, Path],
    output_dir: Union[str, Path],
    quantize: bool = False,
    progress: Callable[[str], None] = logger.info,
) -> Path:
    """`export_model` of the model and dataset reader of an `ain_tagger` archive (`model.tar.gz`)."""
    from allennlp.models.archival import load_archive

    progress(f"loading {archive}")
    loaded = load_archive(str(archive), cuda_device=-1)
    return export_model(loaded.model, loaded.dataset_reader, output_dir, quantize, str(archive), progress)


def _export_onnx(graph: ExportedTaggerGraph, path: Path) -> None:
    inputs = example_inputs(graph, *_TRACE_SHAPE)
    dynamic_axes: Dict[str, Dict[int, str]] = {}
    for name, tensor in zip(graph.input_names, inputs):
        dynamic_axes[name] = {0: "batch", 1: "length", 2: "characters"} if tensor.dim() == 3 else {0: "batch", 1: "length"}
    for name in OUTPUT_NAMES:
        dynamic_axes[name] = {0: "batch", 1: "length"}
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about every Python-level shape check of the decoders (`if logits.dim()
        # != 3`): they hold for every input, and the check below catches a trace that froze a shape
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            inputs,
            str(path),
            input_names=graph.input_names,
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _session(path: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _compare(graph: ExportedTaggerGraph, session: Any, shape: Tuple[int, int, int], seed: int) -> Tuple[numpy.ndarray, ...]:
    """PyTorch's and the session's tags and confidences on random ids of `shape`, at real tokens."""
    inputs = example_inputs(graph, *shape, seed=seed, min_width=MIN_BATCH_LENGTH)
    with torch.no_grad():
        tags, confidence, _ = graph(*inputs)
    mask = (inputs[graph.mask_input] != 0).numpy()
    onnx_tags, onnx_confidence, _ = session.run(None, {n: t.numpy() for n, t in zip(graph.input_names, inputs)})
    return tags.numpy()[mask], onnx_tags[mask], confidence.numpy()[mask], onnx_confidence[mask]


def check_against_pytorch(graph: ExportedTaggerGraph, path: Path, seeds: int = 2) -> Dict[str, Any]:
    """
    Run the ONNX graph at `path` and `graph` on random ids of several shapes (batch 1 to 4,
    sentence lengths 1 to 31, one-word batches included, other
    word lengths than the traced ones). `ExportError` unless the tags are
    equal and the confidences within `CONFIDENCE_TOLERANCE`; else a summary.
    """
    session = _session(path)
    worst = 0.0
    shapes = [_TRACE_SHAPE, *_CHECK_SHAPES]
    for seed in range(seeds):
        for batch, length, characters in shapes:
            characters = max(characters, _min_characters(graph))
            try:
                tags, onnx_tags, confidence, onnx_confidence = _compare(graph, session, (batch, length, characters), seed)
            except Exception as error:  # onnxruntime raises its own exception types
                raise ExportError(_froze_a_shape(graph, (batch, length, characters), f"onnxruntime failed: {error}")) from None
            if not numpy.array_equal(tags, onnx_tags):
                raise ExportError(
                    _froze_a_shape(graph, (batch, length, characters), f"{int((tags != onnx_tags).sum())} tags differ")
                )
            difference = float(numpy.abs(confidence - onnx_confidence).max())
            if difference > CONFIDENCE_TOLERANCE:
                raise ExportError(
                    _froze_a_shape(graph, (batch, length, characters), f"confidences differ by up to {difference:.2e}")
                )
            worst = max(worst, difference)
    return {"shapes": [list(shape) for shape in shapes], "tags_equal": True, "max_confidence_difference": worst}


def _min_characters(graph: ExportedTaggerGraph) -> int:
    kernels = [
        convolution.kernel_size[0]
        for embedder in graph.embedders.values()
        for convolution in getattr(embedder, "convolutions", [])
    ]
    return max(kernels, default=1)


def _froze_a_shape(graph: ExportedTaggerGraph, shape: Tuple[int, int, int], what: str) -> str:
    decoder = graph.head.decoder
    hint = (
        "The decoder is constrained: its constrained decoding loops over the positions (the sequential "
        "Viterbi pass), which the trace unrolled for one length. Export the model without constraints "
        "(constrain_decoding false) or with a parallel valid decoding."
        if decoder.constrained
        else "Some operation froze a shape of the traced example into the graph."
    )
    return (
        f"the exported graph does not match PyTorch on a batch of (batch, length, characters) = {shape} "
        f"({what}); the graph was traced at {_TRACE_SHAPE}. {hint}"
    )


def _quantize(source: Path, target: Path, scratch: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = scratch / "prepared.onnx"
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception as error:  # the pre-processing only helps; quantize the graph as it is
        logger.warning("onnxruntime's quantization pre-processing failed (%s); quantizing the graph as written", error)
        prepared = source
    quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8)


def quantized_agreement(graph: ExportedTaggerGraph, path: Path) -> Dict[str, float]:
    """How often the int8 graph at `path` gives PyTorch's tags on random ids, and its worst confidence gap."""
    session = _session(path)
    same = total = 0
    worst = 0.0
    for batch, length, characters in _CHECK_SHAPES:
        characters = max(characters, _min_characters(graph))
        tags, onnx_tags, confidence, onnx_confidence = _compare(graph, session, (batch, length, characters), 0)
        same += int((tags == onnx_tags).sum())
        total += tags.size
        worst = max(worst, float(numpy.abs(confidence - onnx_confidence).max()))
    return {"tag_agreement": same / max(total, 1), "max_confidence_difference": worst}
