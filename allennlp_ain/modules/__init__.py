from allennlp_ain.modules import decoders
