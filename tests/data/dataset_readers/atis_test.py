import pytest
from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers import AtisReader, DataFormatError
from tests.helpers import FIXTURES as ALL_FIXTURES
from tests.helpers import SHARED_DATA, needs_data, read_sentences

FIXTURES = ALL_FIXTURES / "atis"


def test_registered():
    assert DatasetReader.by_name("ain_atis") is AtisReader


def test_reads_bio_as_bioes_splitting_on_the_last_colon():
    sentences = read_sentences(AtisReader(), FIXTURES / "atis_sample.txt")
    assert len(sentences) == 7
    words, tags = sentences[2]
    assert words == ["list", "flights", "leaving", "at", "8:30", "am", "on", "monday"]
    assert tags == ["O", "O", "O", "O", "B-depart_time.time", "E-depart_time.time", "O", "S-depart_date.day_name"]
    assert sentences[0][1][4] == "S-fromloc.city_name"


def test_bio_output_and_unchanged_tags():
    assert read_sentences(AtisReader(convert_to="BIO"), FIXTURES / "atis_sample.txt")[1][1][6:8] == [
        "B-fromloc.city_name",
        "I-fromloc.city_name",
    ]
    assert read_sentences(AtisReader(convert_to=None), FIXTURES / "atis_sample.txt")[0][1][4] == "B-fromloc.city_name"


def test_seeded_sample():
    path = FIXTURES / "atis_sample.txt"
    assert read_sentences(AtisReader(sample=3, seed=1), path) == read_sentences(AtisReader(sample=3, seed=1), path)
    assert len(read_sentences(AtisReader(sample=0.5), path)) == 4


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("malformed_no_intent.txt", r"malformed_no_intent\.txt:2: expected 'w1:TAG1 \.\.\. wn:TAGn <=> INTENT'"),
        ("malformed_tag.txt", r"malformed_tag\.txt:3: token 3 'denver': tag 'X-toloc\.city_name' has prefix 'X'.*expected"),
        ("malformed_token.txt", r"malformed_token\.txt:1: token 3 'flights' is not 'word:TAG'"),
    ],
)
def test_malformed_lines_name_file_and_line(name, pattern):
    with pytest.raises(DataFormatError, match=pattern):
        read_sentences(AtisReader(), FIXTURES / name)


@needs_data
def test_real_sentence_counts_and_labels():
    reader = AtisReader(convert_to=None)
    splits = {name: list(reader._read_sentences(str(SHARED_DATA / "atis" / name))) for name in ("train", "valid", "test")}
    assert [len(splits[name]) for name in ("train", "valid", "test")] == [4478, 500, 893]
    labels = {name: {tag for _, tags in sentences for tag in tags} for name, sentences in splits.items()}
    assert len(labels["train"]) == 120
    assert len(labels["train"] | labels["valid"] | labels["test"]) == 127


_UTTERANCES = (
    "show:O flights:O to:O denver:B-toloc.city_name <=> atis_flight\n"
    "list:O fares:O .:O :O any:O airline:O <=> atis_airfare\n"  # an empty token from a doubled space
    "fly:O to:O boston:B-toloc.city_name <=> atis_flight\n"
)


def test_an_empty_token_is_an_error_or_skipped(tmp_path, caplog):
    path = tmp_path / "doubled_space.txt"
    path.write_text(_UTTERANCES)
    with pytest.raises(DataFormatError, match=r"doubled_space\.txt:2: token 4 ':O' is not 'word:TAG'"):
        read_sentences(AtisReader(), path)
    with caplog.at_level("WARNING"):
        kept = read_sentences(AtisReader(skip_invalid=True), path)
    assert [words for words, _ in kept] == [["show", "flights", "to", "denver"], ["fly", "to", "boston"]]
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("allennlp_ain")]
    assert any("doubled_space.txt:2: token 4 ':O'" in message for message in messages)
    assert any("1 invalid" in message for message in messages)


def test_a_leading_bom_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + _UTTERANCES.splitlines()[0].encode())
    assert read_sentences(AtisReader(), path)[0][0][0] == "show"
