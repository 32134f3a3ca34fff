"""
Every reader on damaged copies of its fixtures: random line and byte mutations (lines deleted,
duplicated, swapped; bytes inserted; truncation; separators replaced; `\\r` line ends; byte-order
marks; invalid UTF-8; control characters; empty tokens; extra and missing columns). A reader either
returns instances whose tokens are clean, or raises `DataFormatError` naming the file and a line
of it; with `skip_invalid` it never raises for damaged lines. The one file-level outcome allowed
in both modes is the `ConfigurationError` of a file left without any (valid) sentence.
"""
import re
import tempfile
from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allennlp_ain.data.dataset_readers import AtisReader, ConllReader, DataFormatError, UniversalDependenciesReader
from tests.helpers import FIXTURES

CASES = {
    "conll2003": (lambda **kwargs: ConllReader(label_column=3, tag_scheme="IOB1", **kwargs), FIXTURES / "conll" / "conll2003_sample.txt"),
    "conll2002_bio": (ConllReader, FIXTURES / "conll" / "conll2002_esp_sample.txt"),
    "ud": (UniversalDependenciesReader, FIXTURES / "ud" / "en_ewt_sample.conllu"),
    "atis": (AtisReader, FIXTURES / "atis" / "atis_sample.txt"),
}

_BAD_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufeff]")
_SEPARATOR = re.compile(rb"[ \t:]")
_NOISE = [
    b"", b" ", b"  ", b"\t", b"\t\t", b":", b" :O ", b"::", b" <=> ", b"_", b"\r", b"\r\n", b"\n", b"\n\n",
    b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc3\xa9", b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x7f",
    b"\xc2\x85", b"\xc2\xa0", b"\xe2\x80\xa8", b"\xe3\x80\x80", b"O", b"B-PER", b"I-LOC", b"X-Y", b"-DOCSTART-",
    b"#", b"1-2", b"1.1", b"0", b"NOUN", b"FOO", b"CONJ",
]
noise = st.one_of(st.sampled_from(_NOISE), st.binary(min_size=1, max_size=6))


@st.composite
def mutation(draw):
    kind = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "insert", "truncate", "separator", "cr", "bom", "empty_column", "extra_column", "missing_column"]
        )
    )
    return kind, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), draw(noise)


def mutate(data: bytes, mutations) -> bytes:
    for kind, a, b, extra in mutations:
        lines = data.split(b"\n")
        i, j = a % len(lines), b % len(lines)
        line = lines[i]
        separators = [m.start() for m in _SEPARATOR.finditer(line)]
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "swap":
            lines[i], lines[j] = lines[j], line
        elif kind == "insert":
            position = b % (len(data) + 1)
            data = data[:position] + extra + data[position:]
            continue
        elif kind == "truncate":
            data = data[: b % (len(data) + 1)]
            continue
        elif kind == "separator" and separators:
            at = separators[b % len(separators)]
            lines[i] = line[:at] + extra + line[at + 1 :]
        elif kind == "cr":
            data = [data.replace(b"\n", b"\r"), data.replace(b"\n", b"\r\n"), data.replace(b"\n", b"\r", 1 + b % 5)][a % 3]
            continue
        elif kind == "bom":
            lines[i] = b"\xef\xbb\xbf" + line
        elif kind == "empty_column" and separators:
            at = separators[b % len(separators)]
            lines[i] = line[: at + 1] + line[at : at + 1] + line[at + 1 :]
        elif kind == "extra_column":
            lines[i] = line + [b" ", b"\t"][b % 2] + (extra or b"x")
        elif kind == "missing_column" and separators:
            at = separators[b % len(separators)]
            following = [s for s in separators if s > at]
            lines[i] = line[:at] + (line[following[0] :] if following else b"")
        data = b"\n".join(lines)
    return data


def line_count(data: bytes) -> int:
    return len(re.findall(rb"\r\n|\r|\n", data)) + (0 if data == b"" or data.endswith((b"\r", b"\n")) else 1)


def outcome(make_reader, path: Path, lines: int, **kwargs):
    """The sentences read, or the `ConfigurationError` of a file without sentences; any other
    exception but a `DataFormatError` naming `path` and one of its `lines` fails the test."""
    try:
        instances = list(make_reader(**kwargs).read(str(path)))
    except DataFormatError as error:
        assert str(error).startswith(f"{path}:{error.line}: ") and error.path == str(path)
        assert 1 <= error.line <= lines, (error.line, lines)
        return error
    except ConfigurationError as error:
        assert "holds no" in str(error) and str(path) in str(error), error
        return error
    sentences = []
    for instance in instances:
        words = instance["metadata"]["words"]
        assert words and [token.text for token in instance["tokens"].tokens] == words
        for word in words:
            assert isinstance(word, str) and word and not _BAD_CHARACTER.search(word), repr(word)
        assert all(isinstance(tag, str) and tag and not _BAD_CHARACTER.search(tag) for tag in instance["tags"].labels)
        sentences.append((words, instance["tags"].labels))
    return sentences


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(mutation(), min_size=1, max_size=4))
def test_damaged_files_give_clean_tokens_or_a_located_error(case, mutations):
    make_reader, fixture = CASES[case]
    data = mutate(fixture.read_bytes(), mutations)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / fixture.name
        path.write_bytes(data)
        strict = outcome(make_reader, path, line_count(data))
        skipping = outcome(make_reader, path, line_count(data), skip_invalid=True)
    assert not isinstance(skipping, DataFormatError), f"skip_invalid raised {skipping}"
    if isinstance(strict, list):
        assert skipping == strict  # nothing to skip: the same sentences
    if isinstance(skipping, ConfigurationError):
        assert not isinstance(strict, list)


def _token_lines(data: bytes):
    lines = data.split(b"\n")
    return [
        i for i, line in enumerate(lines) if line.strip() and not line.startswith((b"#", b"-DOCSTART-")) and not re.match(rb"\d+[-.]", line)
    ]


_DAMAGE = [
    lambda line: line[:2] + b"\xff" + line[2:],  # not UTF-8
    lambda line: line[:1] + b"\x00" + line[1:],  # a control character in the token
    lambda line: _SEPARATOR.sub(b"", line, count=1),  # a column or a tag lost
]


@pytest.mark.parametrize("case", sorted(CASES))
def test_skipping_a_damaged_line_costs_only_its_sentence(case):
    """Each token line in turn is damaged: `skip_invalid` loses its sentence and no other."""
    make_reader, fixture = CASES[case]
    original = outcome(make_reader, fixture, 10**6)
    data = fixture.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / fixture.name
        for n, i in enumerate(_token_lines(data)):
            lines = data.split(b"\n")
            word = lines[i].split(b"\t")[1] if case == "ud" else lines[i].split()[0]
            lines[i] = _DAMAGE[n % len(_DAMAGE)](lines[i])
            path.write_bytes(b"\n".join(lines))
            skipped = outcome(make_reader, path, 10**6, skip_invalid=True)
            assert len(skipped) == len(original) - 1, (i, lines[i])
            lost = next(k for k in range(len(original)) if original[:k] + original[k + 1 :] == skipped)
            assert word.decode().split(":")[0] in " ".join(original[lost][0]), (i, lines[i])
