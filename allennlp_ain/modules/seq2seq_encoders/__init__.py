from allennlp_ain.modules.seq2seq_encoders.cnn import CnnEncoder
