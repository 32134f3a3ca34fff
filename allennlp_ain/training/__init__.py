from allennlp_ain.training import callbacks, learning_rate_schedulers, metrics
