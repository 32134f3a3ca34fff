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
