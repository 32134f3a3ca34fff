from allennlp_ain.commands.ain_predict import AinPredict
from allennlp_ain.commands.ain_export import AinExport
