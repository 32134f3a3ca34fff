"""allennlp-ain: fast and accurate sequence labelling for AllenNLP. Importing it registers every component."""
import logging
import os
import sys
import warnings

# AllenNLP's trainer calls the deprecated torch.cuda.amp.autocast on every batch.
warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast.*", category=FutureWarning)


def _silence_predict() -> None:
    """
    `allennlp predict --silent` stops AllenNLP printing the predictions, but not its INFO log (about
    90 lines: every config parameter and initializer of the archive). Under that command (and
    `allennlp ain-predict --silent`) the plugin, imported before the archive is loaded, raises the
    root logger to WARNING, so that the flag silences what a user sees; warnings and errors still
    print. `ALLENNLP_LOG_LEVEL=WARNING` does the same for every command.
    """
    args = sys.argv[1:]
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if program in ("allennlp", "__main__.py") and args[:1] in (["predict"], ["ain-predict"]) and "--silent" in args:
        logging.getLogger().setLevel(logging.WARNING)


_silence_predict()

from allennlp_ain import data, modules, training, models, predictors, commands  # noqa: E402
