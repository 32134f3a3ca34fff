"""
Span tag schemes: the one place where label strings are read as spans.

A tag is `O` or `P-TYPE`, with the prefix `P` drawn from the scheme. Scheme names are
case-insensitive; `IOB2` is an alias of `BIO` and `BIOUL` (AllenNLP's name) an alias of `BIOES`:

* `IOB1` (CoNLL-2003): `I-X` inside a span; `B-X` only on the first token of a span that
  directly follows another span of the same type.
* `BIO` (= `IOB2`; CoNLL-2000, CoNLL-2002, ATIS): `B-X` on the first token of every span, `I-X`
  on the others.
* `BIOES` (= `BIOUL`; the paper's output scheme): `S-X` for a one-token span, otherwise `B-X`,
  `I-X`..., `E-X`. AllenNLP's letters `U-X` / `L-X` are read as synonyms of `S-X` / `E-X`;
  tags are always written with `S` and `E`.
* `BMES` (word segmentation): `S-X` for a one-token span, otherwise `B-X`, `M-X`..., `E-X`; `O`
  is allowed too.

Every conversion goes through spans. `tags_to_spans` reads a tag sequence the way `conlleval`
(and `seqeval`'s `get_entities`, which the tests compare with) does: a span starts at a begin
(`B`) or single (`S`, `U`) tag, and at an inside (`I`, `M`) or end (`E`, `L`) tag that follows
`O`, an end or single tag, or a tag of another type; it goes on over the following tags until one
of them starts a new span or an `O` comes. Ill-formed sequences (an `I-X` after `O` in BIO, a `B-X`
after `O` in IOB1: both occur in the real CoNLL files) are thus read, never refused, and
`spans_to_tags` writes spans in a scheme. For a sequence that is well formed in its scheme,
`convert(convert(tags, a, b), b, a) == tags`, and for any spans,
`tags_to_spans(spans_to_tags(spans, n, s), s) == spans`.

Given a scheme, `tags_to_spans` is strict: a tag the scheme does not use raises `ValueError`.
Without one (`scheme=None`, for predictions and metrics) it is lenient and scheme-free: any of the
letters B I E S U L M is read by its role, and a label that is neither `O` nor `P-TYPE` (such as
`@@UNKNOWN@@`, which stands for labels never seen in training) is a one-token span of its own type.

`allowed_transitions` and `invalid_transitions` give the transitions a scheme allows (AllenNLP's
`allowed_transitions`, START and END included); `span_labels` gives a label set's span structure in
label ids, for the decoders' parallel valid decoding; `check_label_vocabulary` checks a model's
label vocabulary against a scheme.
"""
from typing import Dict, Iterable, List, Optional, Tuple

from allennlp.modules.conditional_random_field import allowed_transitions as _allennlp_allowed_transitions
from allennlp.modules.conditional_random_field.conditional_random_field import is_transition_allowed

from allennlp_ain.modules.decoders.span_repair import SpanLabels

SCHEMES = ("IOB1", "BIO", "BIOES", "BMES")
ALIASES = {"IOB2": "BIO", "BIOUL": "BIOES"}
# The prefixes each scheme writes; `READ_SYNONYMS` adds the ones it also reads.
PREFIXES = {"IOB1": ("I", "B"), "BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S"), "BMES": ("B", "M", "E", "S")}
READ_SYNONYMS = {"BIOES": {"U": "S", "L": "E"}}
SPECIAL_LABELS = ("@@UNKNOWN@@", "@@PADDING@@")

Span = Tuple[str, int, int]  # (type, first token, last token), inclusive

# The role of every prefix letter in the lenient (scheme-free) reading.
_BEGIN, _INSIDE, _END, _SINGLE, _OUTSIDE = "begin", "inside", "end", "single", "outside"
_ROLES = {"B": _BEGIN, "I": _INSIDE, "M": _INSIDE, "E": _END, "L": _END, "S": _SINGLE, "U": _SINGLE}
# Each scheme in AllenNLP's letters (`allennlp.modules.conditional_random_field`): BIOES is BIOUL
# with S/E renamed; BMES is BIOUL with M/E/S renamed, so that `O` is allowed (AllenNLP's own BMES
# forbids it; without `O` labels both give the same transitions).
_ALLENNLP = {
    "IOB1": ("IOB1", {}),
    "BIO": ("BIO", {}),
    "BIOES": ("BIOUL", {"S": "U", "E": "L"}),
    "BMES": ("BIOUL", {"M": "I", "E": "L", "S": "U"}),
}


def check_scheme(scheme: str) -> str:
    """
    The canonical name of `scheme`: one of `SCHEMES`, case-insensitive, or an alias (`IOB2` is
    `BIO`, `BIOUL` is `BIOES`). Raises `ValueError` for any other name.
    """
    name = str(scheme).upper()
    name = ALIASES.get(name, name)
    if name not in SCHEMES:
        aliases = ", ".join(f"{alias} = {target}" for alias, target in ALIASES.items())
        raise ValueError(f"Unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)} (aliases: {aliases})")
    return name


def tag_error(tag: str, scheme: str) -> Optional[str]:
    """Why `tag` is not a tag of `scheme`, or `None` when it is."""
    scheme = check_scheme(scheme)
    if tag == "O":
        return None
    prefix, dash, label_type = tag.partition("-")
    expected = f"'O' or one of {'/'.join(p + '-TYPE' for p in PREFIXES[scheme])}"
    if scheme in READ_SYNONYMS:
        synonyms = ", ".join(f"{a}- for {b}-" for a, b in READ_SYNONYMS[scheme].items())
        expected += f" (or {synonyms})"
    if not dash or not label_type:
        return f"tag {tag!r} is not a {scheme} tag: expected {expected}"
    if prefix not in PREFIXES[scheme] and prefix not in READ_SYNONYMS.get(scheme, {}):
        return f"tag {tag!r} has prefix {prefix!r}, which {scheme} does not use: expected {expected}"
    return None


def _role(tag: str, scheme: Optional[str]) -> Tuple[str, str]:
    """`(role, type)` of `tag`; strict (`ValueError`) under a scheme, lenient without one."""
    if tag == "O":
        return _OUTSIDE, ""
    if scheme is not None:
        error = tag_error(tag, scheme)
        if error is not None:
            raise ValueError(error)
        return _ROLES[tag[0]], tag[2:]
    if len(tag) > 2 and tag[1] == "-" and tag[0] in _ROLES:
        return _ROLES[tag[0]], tag[2:]
    return _SINGLE, tag  # a label without a span prefix: a one-token span of its own type


def tags_to_spans(tags: List[str], scheme: Optional[str] = None) -> List[Span]:
    """
    The spans `(type, first, last)` (inclusive) of `tags`, in order, read like `conlleval`: a
    span starts at a begin or single tag, and at an inside or end tag after `O`, an end or single
    tag, or a tag of another type; it goes on until a tag starts a new span or an `O` comes.

    With a `scheme` (a name or alias), a tag the scheme does not allow raises `ValueError`. With
    `scheme=None` any prefix letter is read by its role (B begin; I, M inside; E, L end; S, U
    single) and a label that is neither `O` nor `P-TYPE` is a one-token span of its own type.
    """
    if scheme is not None:
        scheme = check_scheme(scheme)
    spans: List[Span] = []
    start: Optional[int] = None
    previous_role, previous_type = _OUTSIDE, ""
    for index, tag in enumerate(tags):
        role, label_type = _role(tag, scheme)
        starts = role in (_BEGIN, _SINGLE) or (
            role in (_INSIDE, _END) and (previous_role in (_OUTSIDE, _END, _SINGLE) or label_type != previous_type)
        )
        if start is not None and (role == _OUTSIDE or starts):
            spans.append((previous_type, start, index - 1))
            start = None
        if starts:
            start = index
        previous_role, previous_type = role, label_type
    if start is not None:
        spans.append((previous_type, start, len(tags) - 1))
    return spans


def spans_to_tags(spans: List[Span], length: int, scheme: str) -> List[str]:
    """Write non-overlapping `spans` (inclusive) over `length` tokens as tags of `scheme`."""
    scheme = check_scheme(scheme)
    inside = "M" if scheme == "BMES" else "I"
    tags = ["O"] * length
    previous_end, previous_type = -2, ""
    for label_type, first, last in sorted(spans, key=lambda span: span[1]):
        if first <= previous_end or not 0 <= first <= last < length:
            raise ValueError(f"Spans overlap or lie outside 0..{length - 1}: {spans}")
        for index in range(first, last + 1):
            tags[index] = f"{inside}-{label_type}"
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


def extract_spans(tags: List[str], scheme: Optional[str] = None) -> List[Span]:
    """
    `(type, start, end)` spans of predicted `tags` with `end` **exclusive**, read leniently (a
    model's output may break its scheme): `tags_to_spans(tags, None)` with `end + 1`. `scheme`,
    when given, is only checked to be a known name.
    """
    if scheme is not None:
        check_scheme(scheme)
    return [(label_type, first, last + 1) for label_type, first, last in tags_to_spans(tags)]


def _allennlp_labels(scheme: str, labels: Dict[int, str]) -> Tuple[str, Dict[int, str]]:
    """`scheme` and `labels` in AllenNLP's letters; labels without a span prefix are unchanged."""
    constraint_type, renames = _ALLENNLP[check_scheme(scheme)]
    renamed = {}
    for index, label in labels.items():
        prefix, dash, rest = label.partition("-")
        renamed[index] = renames.get(prefix, prefix) + dash + rest if dash else label
    return constraint_type, renamed


def allowed_transitions(scheme: str, labels: Dict[int, str]) -> List[Tuple[int, int]]:
    """
    The allowed `(from, to)` pairs of label ids under `scheme`, for `labels` (id → label, ids
    `0..L-1`), with START = `L` and END = `L + 1` as in
    `allennlp.modules.conditional_random_field.allowed_transitions`, which computes them. A label
    without a span prefix (`@@UNKNOWN@@`) is passed on unchanged: AllenNLP allows no transition
    into it.
    """
    constraint_type, renamed = _allennlp_labels(scheme, labels)
    return _allennlp_allowed_transitions(constraint_type, renamed)


def span_labels(scheme: str, labels: Dict[int, str]) -> SpanLabels:
    """
    The span structure of `labels` (id → label, ids `0..L-1`) under `scheme`, in label ids, for
    `allennlp_ain.modules.decoders.span_repair`: each label's type (`O` is 0, span types 1..C in
    sorted order, a label outside the scheme such as `@@UNKNOWN@@` -1, never output), whether a span
    opens or closes at it, and the label a token gets from its type and its position in a span.
    """
    scheme = check_scheme(scheme)
    roles = {}
    for index, label in labels.items():
        try:
            roles[index] = _role(label, scheme)
        except ValueError:
            roles[index] = None
    type_names = sorted({role[1] for role in roles.values() if role is not None and role[0] != _OUTSIDE})
    type_ids = {name: position + 1 for position, name in enumerate(type_names)}
    by_role: Dict[Tuple[str, int], int] = {}
    types, opens, closes = [], [], []
    for index in range(len(labels)):
        role = roles.get(index)
        if role is None:
            types.append(-1)
            opens.append(False)
            closes.append(False)
            continue
        kind, name = role
        type_id = 0 if kind == _OUTSIDE else type_ids[name]
        by_role.setdefault((kind, type_id), index)
        types.append(type_id)
        # BIO and IOB1 write no end marker: a span closes where the next one opens or an O comes
        opens.append(kind in (_OUTSIDE, _SINGLE, _BEGIN))
        closes.append(kind in (_OUTSIDE, _SINGLE, _END))
    relabel = []
    for type_id in range(len(type_names) + 1):
        row = []
        for code in range(8):
            begins, ends, follows_same = bool(code & 4), bool(code & 2), bool(code & 1)
            if type_id == 0:
                kind = _OUTSIDE
            elif scheme in ("BIOES", "BMES"):
                kind = (_SINGLE if ends else _BEGIN) if begins else (_END if ends else _INSIDE)
            elif scheme == "BIO":
                kind = _BEGIN if begins else _INSIDE
            else:  # IOB1: B- only where a span directly follows one of its own type
                kind = _BEGIN if begins and follows_same else _INSIDE
            row.append(by_role.get((kind, type_id), -1))
        relabel.append(row)
    return SpanLabels(types, opens, closes, relabel, type_change_splits=scheme == "IOB1")


def invalid_transitions(tags: List[str], scheme: str) -> int:
    """
    How many adjacent pairs of `tags`, START → first tag and last tag → END included, are not
    allowed under `scheme` (the pairs `allowed_transitions` leaves out); `0` for a valid sequence
    and for an empty one.
    """
    if not tags:
        return 0
    constraint_type, renamed = _allennlp_labels(scheme, dict(enumerate(tags)))
    path = ["START", *renamed.values(), "END"]
    errors = 0
    for before, after in zip(path, path[1:]):
        from_tag, from_entity = (before, "") if before == "START" else (before[0], before[1:])
        to_tag, to_entity = (after, "") if after == "END" else (after[0], after[1:])
        errors += not is_transition_allowed(constraint_type, from_tag, from_entity, to_tag, to_entity)
    return errors


def check_label_vocabulary(labels: Iterable[str], scheme: str) -> None:
    """
    Raise `ValueError`, naming the scheme and the offending labels, when a label of `labels` (a
    model's label vocabulary) is not a tag of `scheme`, or when the labels cannot come from data
    written in `scheme` (a BIOES `B-X` without `E-X`: the reader wrote BIO). `@@UNKNOWN@@` and
    `@@PADDING@@` are allowed.
    """
    scheme = check_scheme(scheme)
    labels = [label for label in labels if label not in SPECIAL_LABELS]
    bad = [label for label in labels if tag_error(label, scheme) is not None]
    if bad:
        shown = ", ".join(repr(label) for label in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ValueError(f"labels {shown} are not valid {scheme} tags ({tag_error(bad[0], scheme)})")
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


def _check_label_set(labels: Iterable[str], scheme: str) -> None:
    synonyms = READ_SYNONYMS.get(scheme, {})
    present = set()
    for label in labels:
        if label != "O":
            prefix, _, label_type = label.partition("-")
            present.add((synonyms.get(prefix, prefix), label_type))
    missing = sorted(
        f"{prefix}-{label_type} without {needed}-{label_type}"
        for prefix, label_type in present
        for has, needed in _IMPLIED[scheme]
        if prefix == has and (needed, label_type) not in present
    )
    if missing:
        raise ValueError(
            f"the labels are not a {scheme} label set ({'; '.join(missing[:10])}): was the data written in "
            f"another scheme? Set the model's label_encoding to the reader's output scheme (convert_to)"
        )
