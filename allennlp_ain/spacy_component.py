"""
An alias only: the spaCy component lives in the top-level module `allennlp_ain_spacy` (see there why it
lives outside this package), and the docs and tests name that module. This module re-exports it so
that `from allennlp_ain.spacy_component import AinTaggerComponent` keeps working.
"""
from allennlp_ain_spacy import AinTaggerComponent, make_ain_tagger

__all__ = ["AinTaggerComponent", "make_ain_tagger"]
