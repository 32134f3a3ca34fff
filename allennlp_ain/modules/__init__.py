from allennlp_ain.modules import decoders, seq2seq_encoders, token_embedders
