import argparse
import logging
import sys
from typing import Iterator

from allennlp.commands.predict import Predict, _get_predictor, _PredictManager
from allennlp.commands.subcommand import Subcommand
from allennlp.common import logging as common_logging
from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path, open_compressed
from allennlp.common.util import JsonDict

from allennlp_ain.predictors import AinTaggerPredictor


@Subcommand.register("ain-predict")
class AinPredict(Predict):
    """
    `allennlp predict` with one output line per input line: output line k answers input line k,
    blank lines included, whatever `--batch-size`, with or without `--silent` and
    `--output-file`. It takes `allennlp predict`'s arguments and differs in one point: AllenNLP's
    `predict` drops whitespace-only lines before the predictor sees them (so every later output
    line answers a later input line), while `ain-predict` hands every line to the predictor's
    `load_line`. The `ain_tagger` predictor answers a blank line, like any other bad line, with
    the error object `{"error": "input N: blank line", "input": N}` in its place, N being the
    input's line number (from 1).

    A blank line gives an error object, not an empty result, because the predictor already
    treats blank input as an error (`{"sentence": " "}` is "Nothing to tag"), because an error
    object has one shape for every model (single- or multi-task, with or without spans, `top_k`
    or `marginals`) where an empty result would need each one's, and because a reader of the
    output that pairs it with the input already handles error objects.

    Only the `ain_tagger` predictor answers blank lines; another predictor is refused (use
    `allennlp predict` for it). With `--use-dataset-reader` the instances come from the model's
    dataset reader, not from lines, and nothing differs from `allennlp predict`. `--silent` also
    lowers the root logger to WARNING before the archive loads, so that the command prints no
    INFO lines (as the plugin does for `allennlp predict --silent`).

    AllenNLP finds a plugin's subcommand by importing the plugins before it parses the command
    line, from `.allennlp_plugins` in the working directory (the repository root has one) or
    `~/.allennlp/plugins`; `--include-package` is read after parsing, too late to add a
    subcommand.

    Registered as a `Subcommand` with name "ain-predict".
    """

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        subparser = super().add_subparser(parser)
        subparser.description = (
            "Run the specified model against a JSON-lines input file, one output line per input line: "
            "a blank line gets an error object in its place (the ain_tagger predictor)."
        )
        subparser.set_defaults(func=_predict)
        return subparser


class _AlignedPredictManager(_PredictManager):
    """AllenNLP's `_PredictManager` that hands every input line, blank or not, to `load_line`."""

    def _get_json_data(self) -> Iterator[JsonDict]:
        if self._input_file == "-":
            for line in sys.stdin:
                yield self._predictor.load_line(line)
        else:
            with open_compressed(cached_path(self._input_file)) as file_input:
                for line in file_input:
                    yield self._predictor.load_line(line)


def _predict(args: argparse.Namespace) -> None:
    if args.silent:
        logging.getLogger().setLevel(logging.WARNING)
    common_logging.FILE_FRIENDLY_LOGGING = args.file_friendly_logging

    predictor = _get_predictor(args)
    if not args.use_dataset_reader and not isinstance(predictor, AinTaggerPredictor):
        raise ConfigurationError(
            f"ain-predict hands blank lines to the predictor, which only the ain_tagger predictor answers; "
            f"got {type(predictor).__name__}: use `allennlp predict` for it"
        )

    if args.silent and not args.output_file:
        print("--silent specified without --output-file.")
        print("Exiting early because no output will be created.")
        sys.exit(0)

    manager = _AlignedPredictManager(
        predictor,
        args.input_file,
        args.output_file,
        args.batch_size,
        not args.silent,
        args.use_dataset_reader,
        args.multitask_head,
    )
    manager.run()
