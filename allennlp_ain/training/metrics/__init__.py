from allennlp_ain.training.metrics.span_f1 import SpanF1
