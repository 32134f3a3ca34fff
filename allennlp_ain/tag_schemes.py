"""
Span tag schemes and exact conversions between them.

A tag is `O` or `P-TYPE`, with the prefix `P` drawn from the scheme:

* `IOB1` (CoNLL-2003): `I-X` inside a span; `B-X` only on the first token of a span that
  directly follows another span of the same type.
* `BIO` (also called IOB2; CoNLL-2000, CoNLL-2002, ATIS): `B-X` on the first token of every
  span, `I-X` on the others.
* `BIOES` (the paper's output scheme; AllenNLP calls it BIOUL): `S-X` for a one-token span,
  otherwise `B-X`, `I-X`..., `E-X`.

Every conversion goes through spans: `tags_to_spans` reads a tag sequence the way `conlleval`
does, `spans_to_tags` writes spans in a scheme. Hence, for a sequence that is well formed in
its scheme, `convert(convert(tags, a, b), b, a) == tags`, and for any spans,
`tags_to_spans(spans_to_tags(spans, n, s), s) == spans`. Ill-formed sequences (an `I-X` after
`O` in BIO, a `B-X` after `O` in IOB1: both occur in the real CoNLL files) are read like
`conlleval` reads them (the token starts a span) and come out well formed.
"""
from typing import List, Optional, Tuple

SCHEMES = ("IOB1", "BIO", "BIOES")
PREFIXES = {"IOB1": ("I", "B"), "BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")}

Span = Tuple[str, int, int]  # (type, first token, last token), inclusive


def check_scheme(scheme: str) -> str:
    """The canonical name of `scheme` (case-insensitive; `IOB2` is `BIO`, `BIOUL` is not accepted)."""
    name = scheme.upper()
    name = {"IOB2": "BIO"}.get(name, name)
    if name not in SCHEMES:
        raise ValueError(f"Unknown tag scheme {scheme!r}; expected one of {SCHEMES} (or IOB2 for BIO)")
    return name


def tag_error(tag: str, scheme: str) -> Optional[str]:
    """Why `tag` is not a tag of `scheme`, or `None` when it is."""
    if tag == "O":
        return None
    prefix, dash, label_type = tag.partition("-")
    expected = f"'O' or one of {'/'.join(p + '-TYPE' for p in PREFIXES[scheme])}"
    if not dash or not label_type:
        return f"tag {tag!r} is not a {scheme} tag: expected {expected}"
    if prefix not in PREFIXES[scheme]:
        return f"tag {tag!r} has prefix {prefix!r}, which {scheme} does not use: expected {expected}"
    return None


def _split(tag: str) -> Tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, label_type = tag.partition("-")
    return prefix, label_type


def tags_to_spans(tags: List[str], scheme: str) -> List[Span]:
    """
    The spans of `tags`, read like `conlleval`: a span starts at a `B-` or `S-` tag, at any tag
    after `O`, `E-` or `S-`, and wherever the type changes; it goes on over the following tags
    of its type until one of them starts a new span or an `O` comes. Raises `ValueError` for a
    tag that `scheme` does not allow.
    """
    scheme = check_scheme(scheme)
    spans: List[Span] = []
    start: Optional[int] = None
    previous_prefix, previous_type = "O", ""
    for index, tag in enumerate(tags):
        error = tag_error(tag, scheme)
        if error is not None:
            raise ValueError(error)
        prefix, label_type = _split(tag)
        starts = prefix != "O" and (
            prefix in ("B", "S") or previous_prefix in ("O", "E", "S") or label_type != previous_type
        )
        if start is not None and (prefix == "O" or starts):
            spans.append((previous_type, start, index - 1))
            start = None
        if starts:
            start = index
        previous_prefix, previous_type = prefix, label_type
    if start is not None:
        spans.append((previous_type, start, len(tags) - 1))
    return spans


def spans_to_tags(spans: List[Span], length: int, scheme: str) -> List[str]:
    """Write non-overlapping `spans` over `length` tokens as tags of `scheme`."""
    scheme = check_scheme(scheme)
    tags = ["O"] * length
    previous_end, previous_type = -2, ""
    for label_type, first, last in sorted(spans, key=lambda span: span[1]):
        if first <= previous_end or not 0 <= first <= last < length:
            raise ValueError(f"Spans overlap or lie outside 0..{length - 1}: {spans}")
        for index in range(first, last + 1):
            tags[index] = f"I-{label_type}"
        if scheme == "BIO":
            tags[first] = f"B-{label_type}"
        elif scheme == "IOB1":
            if previous_end == first - 1 and previous_type == label_type:
                tags[first] = f"B-{label_type}"
        elif first == last:
            tags[first] = f"S-{label_type}"
        else:
            tags[first], tags[last] = f"B-{label_type}", f"E-{label_type}"
        previous_end, previous_type = last, label_type
    return tags


def convert(tags: List[str], source: str, target: str) -> List[str]:
    """`tags` in scheme `source` rewritten in scheme `target` (through their spans)."""
    return spans_to_tags(tags_to_spans(tags, source), len(tags), target)


# --- provisional (engineer), to be reconciled with the tag-scheme rewrite ---
def extract_spans(tags: List[str], scheme: Optional[str] = None) -> List[Tuple[str, int, int]]:
    """`(type, start, end)` spans of predicted tags, `end` exclusive, read like conlleval."""
    from seqeval.metrics.sequence_labeling import get_entities

    renames = {"U": "S", "L": "E", "M": "I"}
    tags = [renames.get(t[:1], t[:1]) + t[1:] if t[1:2] == "-" else t for t in tags]
    return [(label, start, end + 1) for label, start, end in get_entities(list(tags))]


def allowed_transitions(scheme: str, labels):
    from allennlp_ain.modules.decoders.constraints import label_constraints

    return label_constraints(scheme, labels)


def check_label_vocabulary(labels, scheme: str) -> None:
    scheme = check_scheme(scheme)
    labels = [label for label in labels if label not in ("@@UNKNOWN@@", "@@PADDING@@")]
    bad = [label for label in labels if tag_error(label, scheme)]
    if bad:
        raise ValueError(f"labels {bad} are not valid {scheme} tags")
    _check_label_set(set(labels), scheme)


# Which prefixes a label set must hold for a type, given another: data written in the scheme always
# has them (a BIOES span that starts with B- ends with E-; a BIO I- follows a B-; an IOB1 B- follows
# an I- span), so a vocabulary without them was written in another scheme.
_IMPLIED = {
    "BIOES": (("B", "E"), ("E", "B"), ("I", "B")),
    "BMES": (("B", "E"), ("E", "B"), ("M", "B")),
    "BIO": (("I", "B"),),
    "IOB1": (("B", "I"),),
}


def _check_label_set(labels, scheme: str) -> None:
    synonyms = {"U": "S", "L": "E"} if scheme == "BIOES" else {}
    present = set()
    for label in labels:
        if label != "O":
            prefix, _, label_type = label.partition("-")
            present.add((synonyms.get(prefix, prefix), label_type))
    missing = sorted(
        f"{prefix}-{label_type} without {needed}-{label_type}"
        for prefix, label_type in present
        for has, needed in _IMPLIED.get(scheme, ())
        if prefix == has and (needed, label_type) not in present
    )
    if missing:
        raise ValueError(
            f"the labels are not a {scheme} label set ({'; '.join(missing[:10])}): was the data written in "
            f"another scheme? Set the model's label_encoding to the reader's output scheme (convert_to)"
        )
