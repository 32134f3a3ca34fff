import unicodedata
from typing import Dict, List

from allennlp.common.checks import ConfigurationError
from allennlp.data.token_indexers import TokenIndexer
from allennlp.data.token_indexers.token_indexer import IndexedTokenList
from allennlp.data.tokenizers import Token
from allennlp.data.vocabulary import Vocabulary

# The eight patterns in order of precedence, which is also the order of their ids (2 to 9 in a
# padded namespace).
PATTERNS = (
    "numeric",
    "contains_digit",
    "all_upper",
    "all_lower",
    "initial_upper",
    "mixed_case",
    "punctuation",
    "other",
)


def _character_kind(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Lu", "Lt"):  # a titlecase letter ("ǅ") is a capital
        return "upper"
    if category == "Ll":
        return "lower"
    if category[0] == "L":  # Lm, Lo: letters without case ("中", "あ")
        return "letter"
    if category[0] == "N":  # Nd, Nl, No: "7", "٣", "Ⅻ", "²"
        return "digit"
    if category[0] in "PS":  # punctuation and symbols: ",", "-", "$", "+", "€"
        return "punctuation"
    if category[0] == "M":  # combining marks belong to the character before them
        return "mark"
    return "other"  # Z*, C*: spaces, controls, format characters


def capitalization_pattern(text: str) -> str:
    """
    The one pattern of `PATTERNS` that `text` shows; `CapitalizationIndexer` documents them.
    """
    kinds = [kind for kind in map(_character_kind, text) if kind != "mark"]
    cased = [kind for kind in kinds if kind in ("upper", "lower")]
    if "digit" in kinds:
        has_letter = any(kind in ("upper", "lower", "letter") for kind in kinds)
        return "contains_digit" if has_letter else "numeric"
    if "lower" not in cased and cased:
        return "all_upper"
    if "upper" not in cased and cased:
        return "all_lower"
    if cased:
        return "initial_upper" if cased[0] == "upper" and "upper" not in cased[1:] else "mixed_case"
    if kinds and all(kind == "punctuation" for kind in kinds):
        return "punctuation"
    return "other"


@TokenIndexer.register("ain_capitalization")
class CapitalizationIndexer(TokenIndexer):
    """
    Represents each token by one of eight capitalisation patterns, the "capitalization features"
    that Lu et al. (SC-LSTM) concatenate to the word embedding ("Eight features encode
    capitalization patterns, such as AllUpper, InitialUpper, etc."). Pair it with the stock
    `embedding` token embedder, `{"type": "embedding", "embedding_dim": 8, "vocab_namespace":
    "capitalization"}`, next to the word embedder in a `basic` text field embedder.

    Characters are read by their Unicode category: `Lu` and `Lt` are upper case letters, `Ll`
    lower case, `Lm` and `Lo` letters without case ("中"), `N*` digits ("7", "٣", "²"), `P*` and
    `S*` punctuation ("," "-" "$" "€"), and combining marks (`M*`) are skipped, so "Ölfeld"
    written with a combining diaeresis reads as "Ölfeld". Spaces and control or format
    characters (`Z*`, `C*`) are none of these. A token takes the first pattern that fits:

    1. `numeric`: a digit and no letter ("1984", "3.14", "1,000", "-5").
    2. `contains_digit`: a digit and a letter ("B52", "4th", "COVID-19").
    3. `all_upper`: (no digit) an upper case letter and no lower case one ("THE", "É", "A", "U.S.").
    4. `all_lower`: (no digit) a lower case letter and no upper case one ("the", "e-mail", "ß").
    5. `initial_upper`: (no digit) both cases, the first cased letter upper and every later one
       lower ("The", "Ölfeld", "'Tis").
    6. `mixed_case`: (no digit) both cases otherwise ("iPhone", "McDonald", "O'Neil").
    7. `punctuation`: (no digit, no cased letter) at least one character, and every character
       that is not a mark is punctuation or a symbol (",", "--", "$").
    8. `other`: everything else: the empty token, spaces, letters without case ("中国").

    Every string therefore has exactly one pattern (patterns 3 to 6 split the strings that have
    a cased letter and no digit by which cases occur and where).

    The ids are fixed and do not depend on the data: `count_vocab_items` counts every pattern
    once for every token, always in the order above, so `Vocabulary.from_instances` gives all
    eight patterns the same count, and its (stable) sort by count keeps that order. In the
    default padded namespace the ids are 0 for padding, 1 for the OOV token (never produced) and
    2 to 9 for the patterns in the order above; the vocabulary files saved with a model hold the
    same mapping. A vocabulary that lacks a pattern (a `max_vocab_size` below 8 for this
    namespace) raises a `ConfigurationError` when tokens are indexed, instead of silently
    mapping the pattern to the OOV token.

    Registered as a `TokenIndexer` with name "ain_capitalization".

    # Parameters

    namespace : `str`, optional (default = `"capitalization"`)
        The vocabulary namespace of the patterns; the `embedding` token embedder's
        `vocab_namespace`.
    token_min_padding_length : `int`, optional (default = `0`)
        The shortest length a field's pattern ids are padded to, as for other token indexers;
        give the other indexers of the field the same value.
    """

    def __init__(self, namespace: str = "capitalization", token_min_padding_length: int = 0) -> None:
        super().__init__(token_min_padding_length)
        self.namespace = namespace

    def count_vocab_items(self, token: Token, counter: Dict[str, Dict[str, int]]):
        for pattern in PATTERNS:
            counter[self.namespace][pattern] += 1

    def tokens_to_indices(self, tokens: List[Token], vocabulary: Vocabulary) -> IndexedTokenList:
        known = vocabulary.get_token_to_index_vocabulary(self.namespace)
        indices = []
        for token in tokens:
            pattern = capitalization_pattern(token.text)
            if pattern not in known:
                raise ConfigurationError(
                    f"the capitalization pattern {pattern!r} is not in the vocabulary namespace "
                    f"{self.namespace!r}; build the vocabulary from instances indexed by "
                    "ain_capitalization, with no max_vocab_size below 8 for this namespace"
                )
            indices.append(known[pattern])
        return {"tokens": indices}

    def get_empty_token_list(self) -> IndexedTokenList:
        return {"tokens": []}
