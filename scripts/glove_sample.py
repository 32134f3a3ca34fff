"""
Cut the slice of the GloVe 6B 50d vectors that the embedded UD English-EWT sample uses.

    python scripts/glove_sample.py GLOVE_TXT [--output datasets/glove_6b_50d_sample/glove.6B.50d.sample.txt.gz]

Keeps, in GloVe's own order, the vectors of every lowercased word form of the sample's three
splits and of the main job's demo sentence (GloVe 6B is lowercased). `GLOVE_TXT` is any GloVe 6B
50d text file: the full `glove.6B.50d.txt` or `../shared/data/embeddings/glove.6B.50d.subset.txt`,
which hold the same vectors for these words.
"""
import argparse
import gzip
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "ud_english_ewt_sample"
OUTPUT = ROOT / "datasets" / "glove_6b_50d_sample" / "glove.6B.50d.sample.txt.gz"


def sample_words() -> set:
    from main_job import SENTENCE  # the demo sentence, split on whitespace

    words = {word.lower() for word in SENTENCE.split()}
    for split in sorted(SAMPLE.glob("*.conllu")):
        for line in split.read_text(encoding="utf-8").splitlines():
            columns = line.split("\t")
            if len(columns) == 10 and re.fullmatch(r"\d+", columns[0]):
                words.add(columns[1].lower())
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("glove", type=Path)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    words = sample_words()
    kept = 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.glove.open(encoding="utf-8") as source, gzip.open(args.output, "wt", encoding="utf-8") as target:
        for line in source:
            if line.split(" ", 1)[0] in words:
                target.write(line)
                kept += 1
    print(f"{args.output}: {kept} of the sample's {len(words)} word forms have a GloVe vector")


if __name__ == "__main__":
    main()
