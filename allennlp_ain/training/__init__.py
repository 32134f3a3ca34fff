from allennlp_ain.training import callbacks, checkpointers, learning_rate_schedulers, metrics
