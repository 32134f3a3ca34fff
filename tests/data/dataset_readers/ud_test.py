import pytest
from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers import DataFormatError, UniversalDependenciesReader
from tests.helpers import FIXTURES as ALL_FIXTURES
from tests.helpers import SHARED_DATA, needs_data, read_sentences

FIXTURES = ALL_FIXTURES / "ud"


def test_registered():
    assert DatasetReader.by_name("ain_ud") is UniversalDependenciesReader


def test_sample_skips_comments_and_multiword_ranges():
    sentences = read_sentences(UniversalDependenciesReader(), FIXTURES / "en_ewt_sample.conllu")
    assert len(sentences) == 8
    words, tags = sentences[0]
    assert words == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert tags == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]
    lines = (FIXTURES / "en_ewt_sample.conllu").read_text(encoding="utf-8").splitlines()
    ranges = [line.split("\t")[1] for line in lines if line[:1].isdigit() and "-" in line.split("\t")[0]]
    assert ranges and not any(form in words for words, _ in sentences for form in ranges)


def test_xpos_column():
    assert read_sentences(UniversalDependenciesReader(tag_column="xpos"), FIXTURES / "en_ewt_sample.conllu")[0][1][:3] == [
        "IN",
        "DT",
        "NNP",
    ]


def test_malformed_line_names_file_and_line():
    with pytest.raises(DataFormatError, match=r"malformed\.conllu:7: expected 10 tab-separated CoNLL-U columns, found 9") as error:
        read_sentences(UniversalDependenciesReader(), FIXTURES / "malformed.conllu")
    assert error.value.line == 7


def test_missing_tag_names_file_and_line(tmp_path):
    path = tmp_path / "no_tag.conllu"
    path.write_text("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n2\tyou\tyou\t_\tPRP\t_\t1\tvocative\t_\t_\n")
    with pytest.raises(DataFormatError, match=r"no_tag\.conllu:2: token 'you' has no UPOS tag"):
        read_sentences(UniversalDependenciesReader(), path)


def test_seeded_sample():
    path = FIXTURES / "en_ewt_sample.conllu"
    assert read_sentences(UniversalDependenciesReader(sample=3, seed=5), path) == read_sentences(UniversalDependenciesReader(sample=3, seed=5), path)
    assert len(read_sentences(UniversalDependenciesReader(sample=0.5), path)) == 4


@needs_data
@pytest.mark.parametrize(
    "treebank, prefix, counts",
    [("UD_English-EWT", "en_ewt", [12544, 2001, 2077]), ("UD_Dutch-LassySmall", "nl_lassysmall", [6641, 350, 350])],
)
def test_real_sentence_counts(treebank, prefix, counts):
    reader = UniversalDependenciesReader()
    paths = [SHARED_DATA / "ud" / treebank / f"{prefix}-ud-{split}.conllu" for split in ("train", "dev", "test")]
    assert [sum(1 for _ in reader._read_sentences(str(path))) for path in paths] == counts


_LATIN1 = (
    "# text = Él está aquí\n"
    "1\tÉl\tél\tPRON\t_\t_\t2\tnsubj\t_\t_\n"
    "2\testá\testar\tVERB\t_\t_\t0\troot\t_\t_\n"
    "3\taquí\taquí\tADV\t_\t_\t2\tadvmod\t_\t_\n"
)


def test_latin1_file_with_its_encoding_and_bad_bytes_under_utf8(tmp_path):
    path = tmp_path / "latin1.conllu"
    path.write_bytes(_LATIN1.encode("latin-1"))
    reader = UniversalDependenciesReader(encoding="latin-1")
    assert read_sentences(reader, path) == [(["Él", "está", "aquí"], ["PRON", "VERB", "ADV"])]
    with pytest.raises(DataFormatError, match=r"latin1\.conllu:1: not valid utf-8") as error:
        read_sentences(UniversalDependenciesReader(), path)
    assert error.value.path == str(path) and error.value.line == 1
    # comment lines are decoded too (line 1 above); a bad byte on a token line names that line
    token_lines = "1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n" "2\taquí\taquí\tADV\t_\t_\t1\tadvmod\t_\t_\n"
    path.write_bytes(token_lines.encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1\.conllu:2: not valid utf-8"):
        read_sentences(UniversalDependenciesReader(), path)


def test_a_tag_scheme_checks_the_tags(tmp_path):
    path = tmp_path / "pos.conllu"
    path.write_text("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n")
    with pytest.raises(DataFormatError, match=r"pos\.conllu:1: token 'Hi': tag 'INTJ' is not a BIO tag"):
        read_sentences(UniversalDependenciesReader(tag_scheme="BIO"), path)


_TOKENS = (
    "1-2\tdidn't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tdid\tdo\tAUX\tVBD\t_\t3\taux\t_\t_\n"
    "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\n"
    "3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "3.1\tgone\tgo\tVERB\tVBN\t_\t_\t_\t3:conj\t_\n"
    "4\tand\tand\tCONJ\tCC\t_\t3\tcc\t_\t_\n"
)


def test_ranges_and_empty_nodes_are_skipped_and_ud_v1_conj_is_a_tag(tmp_path):
    path = tmp_path / "nodes.conllu"
    path.write_text(_TOKENS)
    assert read_sentences(UniversalDependenciesReader(), path) == [(["did", "n't", "go", "and"], ["AUX", "PART", "VERB", "CONJ"])]


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        ("2\tn't\tnot", "2\t\tnot", r":3: empty FORM"),
        ("3\tgo\tgo\tVERB", "3\tgo\tgo\tVREB", r":4: token 'go': UPOS 'VREB' is not a Universal POS tag"),
        ("3\tgo\tgo\tVERB", "3\tgo\tgo\tverb", r":4: token 'go': UPOS 'verb' is not a Universal POS tag"),
        ("2\tn't\tnot", "\tn't\tnot", r":3: .*ID"),
        ("2\tn't\tnot", "_\tn't\tnot", r":3: .*ID"),
        ("2\tn't\tnot", "0\tn't\tnot", r":3: .*ID"),
        ("3\tgo\tgo", "3\tg o\tgo", r":4: word 'g o' contains U\+0020 \(SPACE\)"),
        ("\t3\taux", "\tthree\taux", r":2: .*HEAD"),
    ],
)
def test_bad_form_upos_and_id_name_file_and_line(tmp_path, old, new, pattern):
    path = tmp_path / "bad.conllu"
    path.write_text(_TOKENS.replace(old, new, 1))
    with pytest.raises(DataFormatError, match=rf"^{path}{pattern}"):
        read_sentences(UniversalDependenciesReader(), path)


def test_upos_is_checked_when_reading_xpos_unless_absent(tmp_path):
    path = tmp_path / "xpos.conllu"
    path.write_text(_TOKENS.replace("\tAUX\t", "\t_\t"))
    assert read_sentences(UniversalDependenciesReader(tag_column="xpos"), path)[0][1] == ["VBD", "RB", "VB", "CC"]
    path.write_text(_TOKENS.replace("\tAUX\t", "\tAUXILIARY\t"))
    with pytest.raises(DataFormatError, match=r":2: token 'did': UPOS 'AUXILIARY' is not"):
        read_sentences(UniversalDependenciesReader(tag_column="xpos"), path)


def test_double_spaces_in_a_lemma_do_not_shift_the_columns(tmp_path):
    path = tmp_path / "spaces.conllu"
    path.write_text(_TOKENS.replace("3\tgo\tgo\t", "3\tgo\tg  o\t"))
    assert read_sentences(UniversalDependenciesReader(), path)[0][0] == ["did", "n't", "go", "and"]


@needs_data
def test_real_upos_tags_are_all_universal():
    reader = UniversalDependenciesReader()
    dutch = SHARED_DATA / "ud" / "UD_Dutch-LassySmall" / "nl_lassysmall-ud-dev.conllu"
    assert "CONJ" in {tag for _, tags in reader._read_sentences(str(dutch)) for tag in tags}


def test_tag_map_reads_ud_v1_conjunctions_with_the_ud_v2_tag():
    path = FIXTURES / "nl_lassysmall_sample.conllu"
    v1 = read_sentences(UniversalDependenciesReader(), path)
    assert v1[0] == (["Anneke", "en", "Pieter", "wonen", "in", "Gouda", "."],
                     ["PROPN", "CONJ", "PROPN", "VERB", "ADP", "PROPN", "PUNCT"])
    v2 = read_sentences(UniversalDependenciesReader(tag_map={"CONJ": "CCONJ"}, language="nl"), path)
    assert [tags for _, tags in v2] == [[{"CONJ": "CCONJ"}.get(t, t) for t in tags] for _, tags in v1]
    assert sum(tags.count("CCONJ") for _, tags in v2) == 3
    instance = next(iter(UniversalDependenciesReader(language="nl").read(str(path))))
    assert instance["metadata"]["language"] == "nl"
