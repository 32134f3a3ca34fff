from allennlp_ain.models.tagging_head import TaggingHead
from allennlp_ain.models.ain_tagger import AinTagger
from allennlp_ain.models.multitask_tagger import MultiTaskTagger
