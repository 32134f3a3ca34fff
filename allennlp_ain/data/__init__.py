from allennlp_ain.data import data_loaders, dataset_readers, token_indexers
