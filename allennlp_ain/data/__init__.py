from allennlp_ain.data import dataset_readers, token_indexers
