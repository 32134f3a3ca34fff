from allennlp_ain.models.ain_tagger import AinTagger
