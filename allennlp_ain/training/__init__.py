from allennlp_ain.training import learning_rate_schedulers, metrics
