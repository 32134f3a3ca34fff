"""allennlp-ain: fast and accurate sequence labelling for AllenNLP. Importing it registers every component."""
import warnings

# AllenNLP's trainer calls the deprecated torch.cuda.amp.autocast on every batch.
warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast.*", category=FutureWarning)

from allennlp_ain import data, modules, training, models, predictors  # noqa: E402
