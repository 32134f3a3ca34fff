from typing import Dict, List

from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer
from allennlp.data.tokenizers import Token
from allennlp.data.vocabulary import Vocabulary


@TokenIndexer.register("ain_cased_single_id")
class CasedSingleIdTokenIndexer(SingleIdTokenIndexer):
    """
    A `single_id` indexer that keeps words as written and falls back to the lowercased word for
    a word the vocabulary lacks (then to the OOV token), as Lample et al. (2016) look words up.

    With an uncased vector file such as GloVe 6B in the vocabulary (`min_pretrained_embeddings`),
    a training word keeps its case ("Apple" and "apple" are two trainable vectors, both started
    from GloVe's "apple" by `ain_cased_embedding`), so word vectors can learn capitalisation; a
    dev/test word never seen in training, "Obama", is read as GloVe's "obama" instead of the
    OOV token. The vocabulary counts words with their case.

    Registered as a `TokenIndexer` with name "ain_cased_single_id".

    # Parameters

    namespace : `str`, optional (default = `"tokens"`)
        The vocabulary namespace of the words.
    lowercase_tokens : `bool`, optional (default = `False`)
        Must be `False` (this indexer keeps case); use `single_id` to lowercase every word.
    start_tokens : `List[str]`, optional (default = `None`)
    end_tokens : `List[str]`, optional (default = `None`)
    feature_name : `str`, optional (default = `"text"`)
    default_value : `str`, optional (default = `"THIS IS A REALLY UNLIKELY VALUE THAT HAS TO BE A STRING"`)
    token_min_padding_length : `int`, optional (default = `0`)
        Passed on to `SingleIdTokenIndexer`, which documents them.
    """

    def __init__(self, namespace: str = "tokens", lowercase_tokens: bool = False, **kwargs) -> None:
        if lowercase_tokens:
            raise ValueError("ain_cased_single_id keeps case; use 'single_id' to lowercase every word")
        super().__init__(namespace=namespace, lowercase_tokens=False, **kwargs)

    def tokens_to_indices(self, tokens: List[Token], vocabulary: Vocabulary) -> Dict[str, List[int]]:
        known = vocabulary.get_token_to_index_vocabulary(self.namespace)
        indices = []
        for token in [*self._start_tokens, *tokens, *self._end_tokens]:
            text = self._get_feature_value(token)
            index = known.get(text)
            if index is None:  # the lowercased word, or the OOV token
                index = vocabulary.get_token_index(text.lower(), self.namespace)
            indices.append(index)
        return {"tokens": indices}
