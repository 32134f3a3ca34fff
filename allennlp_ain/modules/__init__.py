from allennlp_ain.modules import decoders, multitask_encoders, seq2seq_encoders, token_embedders
