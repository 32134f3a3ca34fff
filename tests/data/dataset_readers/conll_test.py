import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers import ConllReader, DataFormatError
from tests.helpers import FIXTURES as ALL_FIXTURES
from tests.helpers import SHARED_DATA, needs_data, read_sentences

FIXTURES = ALL_FIXTURES / "conll"




def test_registered():
    assert DatasetReader.by_name("ain_conll") is ConllReader


def test_conll2003_ner_iob1_to_bioes_skipping_docstart_blocks():
    sentences = read_sentences(ConllReader(label_column=3, tag_scheme="IOB1"), FIXTURES / "conll2003_sample.txt")
    assert len(sentences) == 5
    assert all("-DOCSTART-" not in words for words, _ in sentences)
    words, tags = sentences[1]
    assert words == ["Night", "trains", "link", "Vienna", "Prague", "and", "Warsaw", "."]
    assert tags == ["O", "O", "O", "S-LOC", "S-LOC", "O", "S-LOC", "O"]
    assert sentences[0][1] == ["B-PER", "E-PER", "O", "S-LOC", "O", "O", "O"]
    assert sentences[2][1][1:4] == ["B-ORG", "I-ORG", "E-ORG"]


def test_conll2003_chunk_column_and_bio_output():
    reader = ConllReader(label_column=2, tag_scheme="IOB1", convert_to="BIO")
    sentences = read_sentences(reader, FIXTURES / "conll2003_sample.txt")
    assert sentences[1][1] == ["B-NP", "I-NP", "B-VP", "B-NP", "B-NP", "O", "B-NP", "O"]


def test_keeping_the_file_tags():
    sentences = read_sentences(ConllReader(label_column=3, tag_scheme="IOB1", convert_to=None), FIXTURES / "conll2003_sample.txt")
    assert sentences[1][1][3:5] == ["I-LOC", "B-LOC"]


def test_dutch_docstart_as_first_line_of_a_sentence():
    sentences = read_sentences(ConllReader(), FIXTURES / "conll2002_ned_sample.txt")
    assert len(sentences) == 4
    assert sentences[0][0][0] == "Het"
    assert sentences[1][1] == ["B-PER", "I-PER", "E-PER", "O", "O", "S-ORG", "O"]
    assert sentences[2][1][:3] == ["O", "B-MISC", "I-MISC"]


def test_spanish_utf8():
    sentences = read_sentences(ConllReader(encoding="utf-8"), FIXTURES / "conll2002_esp_sample.txt")
    assert len(sentences) == 3
    assert sentences[0][0][3] == "Cádiz" and sentences[0][1][3] == "S-LOC"


def test_wrong_encoding_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Ana B-PER\nvive O\n\nen O\nLeón B-LOC\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1\.txt:5: not valid utf-8") as error:
        read_sentences(ConllReader(), path)
    assert error.value.line == 5
    assert read_sentences(ConllReader(encoding="latin-1"), path)[1] == (["en", "León"], ["O", "S-LOC"])


def test_wrong_column_count_names_file_and_line():
    with pytest.raises(DataFormatError, match=r"malformed_columns\.txt:6: expected 4 whitespace-separated columns, found 3") as error:
        read_sentences(ConllReader(label_column=3, tag_scheme="IOB1"), FIXTURES / "malformed_columns.txt")
    assert error.value.path.endswith("malformed_columns.txt") and error.value.line == 6
    with pytest.raises(DataFormatError, match=r":1: expected 5 whitespace-separated columns, found 4"):
        read_sentences(ConllReader(num_columns=5, tag_scheme="IOB1"), FIXTURES / "malformed_columns.txt")


def test_bad_tag_names_file_and_line_and_what_was_expected(tmp_path):
    with pytest.raises(DataFormatError, match=r"malformed_tag\.txt:5: tag 'X-PER' has prefix 'X'.*expected 'O' or one of I-TYPE/B-TYPE"):
        read_sentences(ConllReader(label_column=3, tag_scheme="IOB1"), FIXTURES / "malformed_tag.txt")
    path = tmp_path / "bioes.txt"
    path.write_text("Anna S-PER\nsings O\n")
    with pytest.raises(DataFormatError, match=r"bioes\.txt:1: tag 'S-PER' has prefix 'S', which BIO does not use"):
        read_sentences(ConllReader(tag_scheme="BIO"), path)
    assert read_sentences(ConllReader(tag_scheme="BIOES", convert_to="BIO"), path) == [(["Anna", "sings"], ["B-PER", "O"])]


def test_columns_that_do_not_exist():
    with pytest.raises(DataFormatError, match="need at least 6 columns, found 4"):
        read_sentences(ConllReader(label_column=5), FIXTURES / "conll2003_sample.txt")
    with pytest.raises(ConfigurationError):
        ConllReader(label_column=3, num_columns=3)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigurationError, match="no such data file"):
        read_sentences(ConllReader(), tmp_path / "absent.txt")
    (tmp_path / "empty.txt").write_text("\n-DOCSTART- -X- O O\n\n")
    with pytest.raises(ConfigurationError, match="holds no sentences"):
        read_sentences(ConllReader(), tmp_path / "empty.txt")


def test_seeded_sample():
    path = FIXTURES / "conll2000_sample.txt"
    first = read_sentences(ConllReader(sample=4, seed=3), path)
    assert len(first) == 4
    assert first == read_sentences(ConllReader(sample=4, seed=3), path)
    assert first != read_sentences(ConllReader(sample=4, seed=4), path)


def test_hold_out_splits_one_file_in_two_disjoint_parts():
    path = FIXTURES / "conll2000_sample.txt"
    every = read_sentences(ConllReader(), path)
    rest = read_sentences(ConllReader(hold_out=0.3, hold_out_file=str(path)), path)
    held_out_reader = ConllReader(hold_out=0.3, hold_out_file=str(path), read_held_out=True)
    held_out = read_sentences(held_out_reader, path)
    assert len(every) == 10 and len(held_out) == 3 and len(rest) == 7
    assert sorted(map(str, rest + held_out)) == sorted(map(str, every))
    assert held_out == read_sentences(ConllReader(hold_out=3, hold_out_file=str(path), read_held_out=True), path)
    # another file (the test file, which AllenNLP reads with the validation reader) is read whole
    other = FIXTURES / "conll2002_esp_sample.txt"
    assert read_sentences(held_out_reader, other) == read_sentences(ConllReader(), other)
    with pytest.raises(ConfigurationError, match="read_held_out needs hold_out"):
        ConllReader(read_held_out=True)
    with pytest.raises(ConfigurationError, match="go together"):
        ConllReader(hold_out=0.1)


@needs_data
@pytest.mark.parametrize(
    "files, reader_args, counts",
    [
        (["conll2003_en/eng.train", "conll2003_en/eng.testa", "conll2003_en/eng.testb"], {"label_column": 3, "tag_scheme": "IOB1"}, [14041, 3250, 3453]),
        (["conll2003_en/eng.train", "conll2003_en/eng.testa", "conll2003_en/eng.testb"], {"label_column": 2, "tag_scheme": "IOB1"}, [14041, 3250, 3453]),
        (["conll2002/esp.train", "conll2002/esp.testa", "conll2002/esp.testb"], {}, [8323, 1915, 1517]),
        (["conll2002/ned.train", "conll2002/ned.testa", "conll2002/ned.testb"], {}, [15806, 2895, 5195]),
        (["conll2000/train.txt", "conll2000/test.txt"], {}, [8936, 2012]),
    ],
)
def test_real_sentence_counts(files, reader_args, counts):
    reader = ConllReader(**reader_args)
    assert [sum(1 for _ in reader._read_sentences(str(SHARED_DATA / name))) for name in files] == counts


@needs_data
def test_real_label_sets():
    ner = ConllReader(label_column=3, tag_scheme="IOB1")
    labels = {tag for _, tags in ner._read_sentences(str(SHARED_DATA / "conll2003_en" / "eng.train")) for tag in tags}
    assert len(labels) == 17  # 4 types x BIES + O
    conll2000 = ConllReader(convert_to=None)
    train = {tag for _, tags in conll2000._read_sentences(str(SHARED_DATA / "conll2000" / "train.txt")) for tag in tags}
    test = {tag for _, tags in conll2000._read_sentences(str(SHARED_DATA / "conll2000" / "test.txt")) for tag in tags}
    assert len(train | test) == 23 and test - train == {"I-LST"}


def test_the_column_count_is_the_most_common_one_so_a_bad_first_line_costs_only_its_sentence(tmp_path, caplog):
    path = tmp_path / "first_line.txt"
    path.write_text("Anna NNP B-PER extra\nsings VBZ O\n\nOslo NNP B-LOC\nsleeps VBZ O\n\nRain NN O\n")
    with pytest.raises(DataFormatError, match=r"first_line\.txt:1: expected 3 whitespace-separated columns, found 4"):
        read_sentences(ConllReader(), path)
    with caplog.at_level("WARNING"):
        assert read_sentences(ConllReader(skip_invalid=True), path) == [
            (["Oslo", "sleeps"], ["S-LOC", "O"]),
            (["Rain"], ["O"]),
        ]
    assert any("first_line.txt:1: expected 3" in record.getMessage() for record in caplog.records)


def test_cr_line_ends_are_not_one_sentence(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes(b"Anna B-PER\rsings O\r\rOslo B-LOC\r")
    assert read_sentences(ConllReader(), path) == [(["Anna", "sings"], ["S-PER", "O"]), (["Oslo"], ["S-LOC"])]
