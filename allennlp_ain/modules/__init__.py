from allennlp_ain.modules import decoders, seq2seq_encoders
