import argparse
import logging
import sys
from typing import List, Optional

from allennlp.commands.subcommand import Subcommand

logger = logging.getLogger(__name__)

_DESCRIPTION = (
    "Export a trained ain_tagger archive (model.tar.gz) to a serving folder: model.onnx (word and "
    "character ids -> label ids, confidences, marginals; any batch size and sentence length) and "
    "tagger.json (vocabularies, labels, indexer settings), run by allennlp_ain_onnx.ExportedTagger "
    "with numpy and onnxruntime alone. Decoders: maxent and mfvi (AIN); not crf."
)


@Subcommand.register("ain-export")
class AinExport(Subcommand):
    """
    `allennlp ain-export ARCHIVE OUTPUT_DIR [--quantize]`: write the serving artefact of an
    `ain_tagger` archive (`allennlp_ain.export.export_archive`): `OUTPUT_DIR/model.onnx`,
    `OUTPUT_DIR/tagger.json` and, with `--quantize`, `OUTPUT_DIR/model.int8.onnx` (int8 dynamic
    weight quantization by onnxruntime). The graph is checked against PyTorch on batches of several
    shapes before it is written. A model that cannot be exported (a `crf` decoder, an unsupported
    encoder or indexer) stops the command with exit status 2 and a message naming the part and the
    supported ones.

    AllenNLP finds it through `.allennlp_plugins` in the working directory (the repository root has
    one); elsewhere run `python -m allennlp_ain.export ARCHIVE OUTPUT_DIR`, which takes the same
    arguments.

    Registered as a `Subcommand` with name "ain-export".
    """

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        subparser = parser.add_parser(self.name, description=_DESCRIPTION, help="Export an ain_tagger to ONNX for serving.")
        add_arguments(subparser)
        subparser.set_defaults(func=run)
        return subparser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", help="the trained archive (model.tar.gz) of an ain_tagger")
    parser.add_argument("output_dir", help="the folder to write model.onnx and tagger.json into")
    parser.add_argument(
        "--quantize", action="store_true", help="also write model.int8.onnx, with int8 dynamic weight quantization"
    )


def run(args: argparse.Namespace) -> None:
    """Export as `args` say; an `ExportError` ends the program with its message and exit status 2."""
    from allennlp_ain.export import ExportError, export_archive

    def progress(line: str) -> None:
        print(f"ain-export: {line}", file=sys.stderr, flush=True)

    logging.getLogger().setLevel(logging.WARNING)  # the archive's config and the quantizer, line by line
    try:
        export_archive(args.archive, args.output_dir, quantize=args.quantize, progress=progress)
    except (ExportError, FileNotFoundError) as error:
        print(f"ain-export: cannot export {args.archive}: {error}", file=sys.stderr)
        sys.exit(2)
    except ImportError as error:
        print(f"ain-export: {error}; install the export extra: pip install 'allennlp-ain[export]'", file=sys.stderr)
        sys.exit(2)


def main(argv: Optional[List[str]] = None) -> int:
    """The command without AllenNLP's command line (`python -m allennlp_ain.export`)."""
    parser = argparse.ArgumentParser(prog="python -m allennlp_ain.export", description=_DESCRIPTION)
    add_arguments(parser)
    run(parser.parse_args(argv))
    return 0
