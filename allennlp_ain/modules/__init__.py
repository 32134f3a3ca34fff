from allennlp_ain.modules import decoders, distillation, multitask_encoders, seq2seq_encoders, text_field_embedders, token_embedders
