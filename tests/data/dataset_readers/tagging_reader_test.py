import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers import (
    AtisReader,
    ConllReader,
    DataFormatError,
    TaggingDatasetReader,
    UniversalDependenciesReader,
)
from allennlp_ain.data.dataset_readers.tagging_reader import decoded_lines
from tests.helpers import FIXTURES, read_sentences

READERS = [
    ("ain_conll", FIXTURES / "conll" / "conll2002_esp_sample.txt"),
    ("ain_atis", FIXTURES / "atis" / "atis_sample.txt"),
    ("ain_ud", FIXTURES / "ud" / "en_ewt_sample.conllu"),
]


@pytest.mark.parametrize("name, path", READERS)
def test_language_reaches_the_metadata_of_every_instance(name, path):
    reader = DatasetReader.from_params(Params({"type": name, "language": "es"}))
    instances = list(reader.read(str(path)))
    assert instances and all(instance["metadata"]["language"] == "es" for instance in instances)
    assert reader.text_to_instance(["Hola"])["metadata"].metadata == {"words": ["Hola"], "language": "es"}
    unset = DatasetReader.by_name(name)()
    assert all(instance["metadata"]["language"] is None for instance in unset.read(str(path)))


def test_scheme_defaults_and_output_scheme():
    assert (ConllReader().tag_scheme, ConllReader().convert_to, ConllReader().output_scheme) == ("BIO", "BIOES", "BIOES")
    assert (AtisReader().tag_scheme, AtisReader().convert_to) == ("BIO", "BIOES")
    assert AtisReader(convert_to=None).output_scheme == "BIO"
    ud = UniversalDependenciesReader()
    assert (ud.tag_scheme, ud.convert_to, ud.output_scheme, ud.encoding) == (None, None, None, "utf-8")
    reader = DatasetReader.from_params(Params({"type": "ain_conll", "tag_scheme": "iob2", "convert_to": "bioul"}))
    assert (reader.tag_scheme, reader.convert_to, reader.output_scheme) == ("BIO", "BIOES", "BIOES")


def test_bad_scheme_settings_are_refused():
    with pytest.raises(ConfigurationError, match="Unknown tag scheme 'BILOU'"):
        ConllReader(tag_scheme="BILOU")
    with pytest.raises(ConfigurationError, match="Unknown tag scheme"):
        AtisReader(convert_to="XYZ")
    with pytest.raises(ConfigurationError, match="convert_to needs the tag_scheme"):
        UniversalDependenciesReader(convert_to="BIO")


def test_a_bioul_file_is_read_with_the_bioul_scheme_name(tmp_path):
    path = tmp_path / "bioul.txt"
    path.write_text("Anna B-PER\nMaria L-PER\nsings O\nin O\nRome U-LOC\n\nOslo U-LOC\n")
    assert read_sentences(ConllReader(tag_scheme="BIOUL"), path) == [
        (["Anna", "Maria", "sings", "in", "Rome"], ["B-PER", "E-PER", "O", "O", "S-LOC"]),
        (["Oslo"], ["S-LOC"]),
    ]
    assert read_sentences(ConllReader(tag_scheme="bioul", convert_to="IOB2"), path)[0][1] == [
        "B-PER", "I-PER", "O", "O", "B-LOC"
    ]
    kept = read_sentences(ConllReader(tag_scheme="BIOUL", convert_to=None), path)
    assert kept[0][1] == ["B-PER", "L-PER", "O", "O", "U-LOC"]


def test_check_tag_and_convert_tags_helpers():
    reader = TaggingDatasetReader(tag_scheme="BIO", convert_to="BIOES")
    reader.check_tag("I-PER", "file.txt", 3)
    with pytest.raises(DataFormatError, match=r"^file\.txt:3: token 2 'x': tag 'S-PER' has prefix 'S'") as error:
        reader.check_tag("S-PER", "file.txt", 3, where="token 2 'x': ")
    assert (error.value.path, error.value.line) == ("file.txt", 3)
    assert reader.convert_tags(["O", "I-PER", "I-PER", "B-LOC"]) == ["O", "B-PER", "E-PER", "S-LOC"]
    unchecked = TaggingDatasetReader()
    unchecked.check_tag("NOUN", "file.txt", 1)
    assert unchecked.convert_tags(["NOUN", "VERB"]) == ["NOUN", "VERB"]


def test_decoded_lines_names_the_line_of_a_bad_byte(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("one\r\ntwo\n".encode() + "tr\u00e8s\n".encode("latin-1"))
    lines = decoded_lines(str(path), "utf-8")
    assert [next(lines), next(lines)] == ["one", "two"]
    with pytest.raises(DataFormatError, match=r"mixed\.txt:3: not valid utf-8") as error:
        next(lines)
    assert error.value.line == 3
    assert list(decoded_lines(str(path), "latin-1")) == ["one", "two", "tr\u00e8s"]


# Every reader with a fixture, its reader arguments and a token line of the fixture that can be damaged.
DAMAGEABLE = [
    (ConllReader, {"label_column": 3, "tag_scheme": "IOB1"}, FIXTURES / "conll" / "conll2003_sample.txt"),
    (ConllReader, {}, FIXTURES / "conll" / "conll2002_esp_sample.txt"),
    (UniversalDependenciesReader, {}, FIXTURES / "ud" / "en_ewt_sample.conllu"),
    (AtisReader, {}, FIXTURES / "atis" / "atis_sample.txt"),
]
IDS = ["conll2003", "conll2002", "ud", "atis"]


def _last_token_line(lines):
    """The 0-based index of the last line that holds a token (not blank, not a comment)."""
    return max(i for i, line in enumerate(lines) if line.strip() and not line.startswith(("#", "-DOCSTART-")))


def test_decoded_lines_splits_on_every_line_end_and_drops_a_leading_bom(tmp_path):
    path = tmp_path / "ends.txt"
    path.write_bytes(b"\xef\xbb\xbfone\rtwo\r\nthree\n\rfive\r\r\nseven\r")
    assert list(decoded_lines(str(path), "utf-8")) == ["one", "two", "three", "", "five", "", "seven"]
    path.write_bytes(b"a\n\xef\xbb\xbfb\n")
    assert list(decoded_lines(str(path), "utf-8")) == ["a", "\ufeffb"]  # only the file's first character


@pytest.mark.parametrize("reader_class, args, fixture", DAMAGEABLE, ids=IDS)
@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n\r"], ids=["cr", "crlf", "lfcr"])
def test_every_line_end_gives_the_same_sentences_and_line_numbers(reader_class, args, fixture, line_end, tmp_path):
    expected = read_sentences(reader_class(**args), fixture)
    lines = fixture.read_text(encoding="utf-8").split("\n")
    path = tmp_path / fixture.name
    if line_end == "\n\r":  # mixed: the first half with "\n", the rest with "\r"
        half = len(lines) // 2
        path.write_bytes(("\n".join(lines[:half]) + "\n" + "\r".join(lines[half:])).encode())
    else:
        path.write_bytes(line_end.join(lines).encode())
    assert read_sentences(reader_class(**args), path) == expected
    bad = _last_token_line(lines)
    lines[bad] = "\x00" + lines[bad]
    path.write_bytes(line_end.replace("\n\r", "\r").join(lines).encode())
    with pytest.raises(DataFormatError, match=rf"^{path}:{bad + 1}: ") as error:
        read_sentences(reader_class(**args), path)
    assert error.value.line == bad + 1


@pytest.mark.parametrize("reader_class, args, fixture", DAMAGEABLE, ids=IDS)
def test_undecodable_bytes_raise_the_readers_error_with_file_and_line(reader_class, args, fixture, tmp_path):
    lines = fixture.read_bytes().split(b"\n")
    bad = _last_token_line([line.decode() for line in lines])
    lines[bad] = lines[bad][:3] + b"\xe9" + lines[bad][3:]
    path = tmp_path / fixture.name
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(DataFormatError, match=rf"^{path}:{bad + 1}: not valid utf-8") as error:
        read_sentences(reader_class(**args), path)
    assert (error.value.path, error.value.line) == (str(path), bad + 1)


@pytest.mark.parametrize("reader_class, args, fixture", DAMAGEABLE, ids=IDS)
@pytest.mark.parametrize("line_end", ["\n", "\r"])
def test_a_leading_byte_order_mark_is_dropped(reader_class, args, fixture, line_end, tmp_path):
    expected = read_sentences(reader_class(**args), fixture)
    path = tmp_path / fixture.name
    path.write_bytes(b"\xef\xbb\xbf" + fixture.read_bytes().replace(b"\n", line_end.encode()))
    assert read_sentences(reader_class(**args), path) == expected


@pytest.mark.parametrize("reader_class, args, fixture", DAMAGEABLE, ids=IDS)
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff"])
def test_a_token_with_a_control_or_space_character_is_an_error(reader_class, args, fixture, character, tmp_path):
    lines = fixture.read_text(encoding="utf-8").split("\n")
    bad = _last_token_line(lines)
    lines[bad] = _with_first_word(reader_class, lines[bad], lambda word: word[:1] + character + "x" + word[1:])
    path = tmp_path / fixture.name
    path.write_text("\n".join(lines), encoding="utf-8")
    # a whitespace character splits the line into other columns or tokens, which is an error too
    reason = "" if character.isspace() else rf".*U\+{ord(character):04X}"
    with pytest.raises(DataFormatError, match=rf"^{path}:{bad + 1}: {reason}"):
        read_sentences(reader_class(**args), path)


def _with_first_word(reader_class, line, change):
    """`line` with its (first) token's word changed."""
    if reader_class is UniversalDependenciesReader:
        columns = line.split("\t")
        return "\t".join(columns[:1] + [change(columns[1])] + columns[2:])
    first, space, rest = line.partition(" ")
    if reader_class is AtisReader:
        word, colon, tag = first.rpartition(":")
        return change(word) + colon + tag + space + rest
    return change(first) + space + rest


@pytest.mark.parametrize("reader_class, args, fixture", DAMAGEABLE, ids=IDS)
def test_skip_invalid_skips_bad_sentences_with_warnings_and_keeps_the_good_ones(reader_class, args, fixture, tmp_path, caplog):
    expected = read_sentences(reader_class(**args), fixture)
    lines = fixture.read_bytes().split(b"\n")
    token_lines = [i for i, line in enumerate(lines) if line.strip() and not line.startswith((b"#", b"-DOCSTART-"))]
    first, last = token_lines[0], token_lines[-1]
    lines[first] = b"extra " + lines[first]  # a column too many (CoNLL), a bad ID (CoNLL-U), a token without a tag (ATIS)
    lines[last] = b"\xff" + lines[last]  # not UTF-8
    path = tmp_path / fixture.name
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataFormatError, match=rf"^{path}:{first + 1}: "):
        read_sentences(reader_class(**args), path)
    with caplog.at_level("WARNING"):
        kept = read_sentences(reader_class(skip_invalid=True, **args), path)
    assert kept == expected[1:-1]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name.startswith("allennlp_ain")]
    assert len(warnings) == 3
    assert f"{path}:{first + 1}: " in warnings[0] and f"{path}:{last + 1}: not valid utf-8" in warnings[1]
    assert "2 invalid" in warnings[2] and str(path) in warnings[2]


def test_skip_invalid_is_a_parameter_of_every_reader():
    for name in ("ain_conll", "ain_ud", "ain_atis"):
        assert DatasetReader.from_params(Params({"type": name, "skip_invalid": True})).skip_invalid
        assert DatasetReader.by_name(name)().skip_invalid is False


def test_skip_invalid_still_refuses_a_file_without_any_valid_sentence(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("Anna B-PER extra\n\nOslo X-LOC\n")
    with pytest.raises(ConfigurationError, match="holds no sentences"):
        read_sentences(ConllReader(skip_invalid=True), path)


def test_encodings_that_cannot_be_read_line_by_line_are_refused():
    with pytest.raises(ConfigurationError, match="no-such-codec"):
        ConllReader(encoding="no-such-codec")
    with pytest.raises(ConfigurationError, match="utf-16"):
        AtisReader(encoding="utf-16")
    assert UniversalDependenciesReader(encoding="cp1252").encoding == "cp1252"
