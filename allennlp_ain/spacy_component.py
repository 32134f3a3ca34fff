"""
The spaCy component `ain_tagger`. Its code is the top-level module `allennlp_ain_spacy` (see there
why it lives outside this package); this module re-exports it for `from allennlp_ain.spacy_component
import AinTaggerComponent`.
"""
from allennlp_ain_spacy import AinTaggerComponent, make_ain_tagger

__all__ = ["AinTaggerComponent", "make_ain_tagger"]
