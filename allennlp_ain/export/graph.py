"""
The computation that `ain-export` writes to ONNX: an `ain_tagger` from input ids to per-token label
ids, confidences and marginals, as one `torch.nn.Module` whose every operation keeps working when
the batch size, the sentence length and the word length change.

The model's own embedders, encoder, head and decoder do the work where their code is already
shape-agnostic (embeddings, `ain_cnn`, `pass_through`, the head's feedforward and projection, and
`decoder.infer(logits, mask)` of `maxent` / `mfvi`). Two pieces are rewritten over the model's own
weights, because AllenNLP's versions read tensor values on the host (which a trace freezes into
constants):

- the recurrent encoder (`lstm`, `gru`): AllenNLP's `PytorchSeq2SeqWrapper` sorts the batch and
  packs it with the sentence lengths as a Python list. Here each layer runs one unidirectional RNN
  per direction over the padded batch; the backward direction reads each sentence reversed within
  its own length (a `gather`), so padding never reaches a real token, exactly as with packing;
- the character CNN (`character_encoding` / `ain_character_encoding` with AllenNLP's `cnn`
  encoder): the same convolutions, ReLU-style activation, masking of the windows that reach past
  a word's last character, max-pooling and zeroing of fully masked outputs as `CnnEncoder`, written
  with shape-derived positions instead of `arange` over a Python int.

What cannot be exported raises `ExportError` naming the part and what is supported.
"""
from typing import Dict, List, Tuple

import torch
from allennlp.modules.seq2seq_encoders import PassThroughEncoder, PytorchSeq2SeqWrapper
from allennlp.modules.seq2vec_encoders import CnnEncoder
from allennlp.modules.token_embedders import Embedding, TokenCharactersEncoder
from allennlp.nn.util import min_value_of_dtype

from allennlp_ain.modules.decoders import MaxEnt, MeanField, SequenceDecoder
from allennlp_ain.modules.seq2seq_encoders import WordCnnEncoder

# The decoders whose inference is a fixed stack of tensor operations (nothing loops over positions).
SUPPORTED_DECODERS = ("maxent", "mfvi")
SUPPORTED_ENCODERS = ("lstm", "gru", "ain_cnn", "pass_through")


class ExportError(ValueError):
    """A model (or a part of it) that `ain-export` cannot turn into a serving artefact."""


def registered_name(module: torch.nn.Module, registrable: type) -> str:
    """The name `module`'s class is registered under in `registrable`, else its class name."""
    for name, (cls, _) in registrable._registry.get(registrable, {}).items():  # type: ignore[attr-defined]
        if type(module) is cls:
            return name
    return type(module).__name__


def check_decoder(decoder: SequenceDecoder) -> str:
    """The decoder's registered name; `ExportError` for a decoder that does not export."""
    name = registered_name(decoder, SequenceDecoder)
    if isinstance(decoder, (MaxEnt, MeanField)):
        return name
    why = ""
    if name == "crf":
        why = (
            " (its Viterbi decoding and forward-backward marginals are loops over the positions, "
            "which a trace unrolls for one sentence length)"
        )
    raise ExportError(
        f"the {name!r} decoder cannot be exported{why}; the supported decoders are "
        f"{', '.join(repr(n) for n in SUPPORTED_DECODERS)} (mfvi: AIN-1O and AIN-F2O). Retrain with one of "
        "them (DECODER=maxent, mfvi1 or mfvi2) or serve the archive with the PyTorch predictor"
    )


class MaskedRnn(torch.nn.Module):
    """
    A (bidirectional, multi-layer) `torch.nn.LSTM` / `GRU` of a `PytorchSeq2SeqWrapper` over a
    padded, left-aligned batch, equal to the wrapper's packed run: zero at padded positions.

    # Parameters

    rnn : `torch.nn.Module`
        The wrapped `torch.nn.LSTM` or `torch.nn.GRU` (`batch_first`); its weights are copied.
    """

    def __init__(self, rnn: torch.nn.Module) -> None:
        super().__init__()
        if not isinstance(rnn, (torch.nn.LSTM, torch.nn.GRU)):
            raise ExportError(f"a recurrent encoder over {type(rnn).__name__} cannot be exported; LSTM and GRU can")
        if getattr(rnn, "proj_size", 0):
            raise ExportError("an LSTM with proj_size cannot be exported")
        self.directions = 2 if rnn.bidirectional else 1
        self.layers = torch.nn.ModuleList()
        for layer in range(rnn.num_layers):
            cells = torch.nn.ModuleList()
            input_size = rnn.input_size if layer == 0 else rnn.hidden_size * self.directions
            for direction in range(self.directions):
                cell = type(rnn)(input_size, rnn.hidden_size, batch_first=True, bias=rnn.bias)
                suffix = "_reverse" if direction == 1 else ""
                with torch.no_grad():
                    for name, _ in cell.named_parameters():
                        getattr(cell, name).copy_(getattr(rnn, f"{name[:-1]}{layer}{suffix}"))
                cells.append(cell)
            self.layers.append(cells)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        real = mask.unsqueeze(2).to(inputs.dtype)
        lengths = mask.long().sum(1, keepdim=True)
        # position t of sentence b reads position lengths[b] - 1 - t when t is a token, else itself
        positions = torch.cumsum(torch.ones_like(mask, dtype=torch.long), dim=1) - 1
        reverse = torch.where(mask, lengths - 1 - positions, positions)
        output = inputs
        for cells in self.layers:
            directions = [cells[0](output)[0]]
            if self.directions == 2:
                index = reverse.unsqueeze(2).expand(-1, -1, output.size(2))
                backward = cells[1](output.gather(1, index))[0]
                directions.append(backward.gather(1, reverse.unsqueeze(2).expand(-1, -1, backward.size(2))))
            output = torch.cat(directions, dim=2) * real
        return output


class CharacterCnn(torch.nn.Module):
    """
    A `TokenCharactersEncoder` with AllenNLP's `CnnEncoder`, over character ids `(batch, seq,
    chars)`, computed as `CnnEncoder` computes it (see the module docstring).

    # Parameters

    embedder : `TokenCharactersEncoder`
    """

    def __init__(self, embedder: TokenCharactersEncoder) -> None:
        super().__init__()
        encoder = embedder._encoder._module
        if not isinstance(encoder, CnnEncoder):
            raise ExportError(
                f"a character encoder of type {type(encoder).__name__} cannot be exported; AllenNLP's 'cnn' can"
            )
        self.embedding = embedder._embedding._module
        _check_embedding(self.embedding, "the character embedding")
        self.convolutions = torch.nn.ModuleList(
            [getattr(encoder, f"conv_layer_{i}") for i in range(len(encoder._convolution_layers))]
        )
        self.activation = encoder._activation
        self.projection = encoder.projection_layer

    def forward(self, characters: torch.Tensor) -> torch.Tensor:
        batch_tokens = characters.reshape(-1, characters.size(2))
        mask = batch_tokens != 0
        embedded = self.embedding(batch_tokens) * mask.unsqueeze(2)
        embedded = embedded.transpose(1, 2)
        last = mask.long().sum(1, keepdim=True)
        low = min_value_of_dtype(embedded.dtype)
        outputs = []
        for convolution in self.convolutions:
            activations = self.activation(convolution(embedded))
            # window j covers characters j .. j + k - 1: masked when it reaches past the last one
            windows = torch.cumsum(torch.ones_like(activations[:, 0, :], dtype=torch.long), dim=1) - 1
            masked = windows >= last - convolution.kernel_size[0] + 1
            activations = activations + masked.unsqueeze(1).to(activations.dtype) * low
            outputs.append(activations.max(dim=2)[0])
        pooled = torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]
        pooled = torch.where(pooled == low, torch.zeros_like(pooled), pooled)
        if self.projection is not None:
            pooled = self.projection(pooled)
        return pooled.reshape(characters.size(0), characters.size(1), pooled.size(1))


def _check_embedding(embedding: torch.nn.Module, what: str) -> None:
    if not isinstance(embedding, Embedding):
        raise ExportError(f"{what} is a {type(embedding).__name__}; only AllenNLP's Embedding (and subclasses) export")
    if embedding.max_norm is not None:
        raise ExportError(f"{what} has max_norm, which renormalises weights at lookup; it cannot be exported")


class WordEmbedding(torch.nn.Module):
    """An AllenNLP `Embedding` (or `ain_cased_embedding`) over word ids `(batch, seq)`."""

    def __init__(self, embedding: Embedding) -> None:
        super().__init__()
        _check_embedding(embedding, "the word embedding")
        self.embedding = embedding

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)


class ExportedTaggerGraph(torch.nn.Module):
    """
    An `ain_tagger` from input ids to `tags` `(batch, seq)` int64 (zero at padding), `confidence`
    `(batch, seq)` float32 (the decoder's marginal probability of each predicted label, as the
    head computes it) and `marginals` `(batch, seq, L)` float32, for export.

    `forward` takes one tensor per token indexer, in `input_names` order: word ids `(batch, seq)`
    int64 for `single_id` indexers, character ids `(batch, seq, chars)` int64 for `characters`
    indexers; 0 is padding. The mask is `ids != 0` of the first word-id input, as AllenNLP's
    `get_text_field_mask` reads it.

    # Parameters

    model : `Model`
        An `ain_tagger` (`AinTagger`), in evaluation mode.
    indexer_kinds : `Dict[str, str]`
        Per text-field key, in the reader's indexer order: `"words"` or `"characters"`.
    """

    def __init__(self, model: torch.nn.Module, indexer_kinds: Dict[str, str]) -> None:
        super().__init__()
        self.input_names: List[str] = list(indexer_kinds)
        words = [key for key, kind in indexer_kinds.items() if kind == "words"]
        if not words:
            raise ExportError("the reader has no single-id word indexer, which the mask is read from")
        self.mask_input = self.input_names.index(words[0])
        embedders = getattr(model.text_field_embedder, "_token_embedders", None)
        if not isinstance(embedders, dict):
            raise ExportError(
                f"the text field embedder {type(model.text_field_embedder).__name__} cannot be exported; "
                "AllenNLP's basic embedder can"
            )
        if sorted(embedders) != sorted(indexer_kinds):
            raise ExportError(f"the embedders {sorted(embedders)} do not match the indexers {sorted(indexer_kinds)}")
        self.embedders = torch.nn.ModuleDict()
        for key in sorted(embedders):  # `BasicTextFieldEmbedder` concatenates in sorted key order
            embedder = embedders[key]
            if indexer_kinds[key] == "characters":
                if not isinstance(embedder, TokenCharactersEncoder):
                    raise ExportError(f"the embedder of {key!r} is a {type(embedder).__name__}, not a character encoder")
                self.embedders[key] = CharacterCnn(embedder)
            else:
                self.embedders[key] = WordEmbedding(embedder)
        self.encoder = _encoder(model.encoder)
        self.head = model.head
        if self.head.languages:
            raise ExportError("a tagging head with per-language projections cannot be exported")
        check_decoder(self.head.decoder)

    def forward(self, *inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        by_name = dict(zip(self.input_names, inputs))
        mask = inputs[self.mask_input] != 0
        embedded = torch.cat([self.embedders[key](by_name[key]) for key in sorted(self.embedders)], dim=-1)
        encoded = self.encoder(embedded, mask)
        head = self.head
        if head.feedforward is not None:
            encoded = head.feedforward(encoded)
        logits = head.projection(encoded)
        inference = head.decoder.infer(logits, mask)
        tags = inference.tags
        marginals = inference.marginals.float().clamp(0.0, 1.0)  # as the tagging head reports them
        confidence = marginals.gather(2, tags.unsqueeze(2)).squeeze(2)
        return tags, confidence, marginals


def _encoder(encoder: torch.nn.Module) -> torch.nn.Module:
    if isinstance(encoder, PytorchSeq2SeqWrapper):
        if encoder.stateful:
            raise ExportError("a stateful recurrent encoder cannot be exported")
        return _MaskedEncoder(MaskedRnn(encoder._module))
    if isinstance(encoder, (WordCnnEncoder, PassThroughEncoder)):
        return _MaskedEncoder(encoder)
    raise ExportError(
        f"the encoder {type(encoder).__name__} cannot be exported; the supported encoders are "
        f"{', '.join(SUPPORTED_ENCODERS)} (the lib's bilstm, cnn and word)"
    )


class _MaskedEncoder(torch.nn.Module):
    """`encoder(inputs, mask)`, with the mask passed positionally (a `Seq2SeqEncoder`'s signature)."""

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(inputs, mask)


def example_inputs(
    graph: ExportedTaggerGraph, batch: int, length: int, characters: int, seed: int = 0, min_width: int = 1
) -> Tuple[torch.Tensor, ...]:
    """
    Random ids for `graph`'s inputs, `(batch, width)` words and `(batch, width, characters)`
    characters with `width = max(length, min_width)`, left-aligned with padding (the first sentence
    is `length` long, the others random, and so are the word lengths), for tracing and for
    checking an export.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + batch * 1000 + length)
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    lengths[0] = length
    length = max(length, min_width)
    token_mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    inputs = []
    for name in graph.input_names:
        embedder = graph.embedders[name]
        if isinstance(embedder, CharacterCnn):
            high = embedder.embedding.num_embeddings
            ids = torch.randint(1, max(high, 2), (batch, length, characters), generator=generator)
            word_lengths = torch.randint(1, characters + 1, (batch, length, 1), generator=generator)
            inputs.append(ids * (torch.arange(characters) < word_lengths) * token_mask.unsqueeze(2))
        else:
            high = embedder.embedding.num_embeddings
            inputs.append(torch.randint(1, max(high, 2), (batch, length), generator=generator) * token_mask)
    return tuple(inputs)
