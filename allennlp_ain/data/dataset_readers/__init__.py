from allennlp_ain.data.dataset_readers.tagging_reader import DataFormatError, TaggingDatasetReader, decoded_lines
from allennlp_ain.data.dataset_readers.ud import UniversalDependenciesReader
from allennlp_ain.data.dataset_readers.conll import ConllReader
from allennlp_ain.data.dataset_readers.atis import AtisReader
