#!/usr/bin/env bash
# The structure-level distillation experiments of issue 17 on the real data, each an
# `allennlp train` run in RUN_ROOT/<name>:
#
#   benchmarks/distillation_runs.sh RUN_ROOT [NAME ...]     (default: every run below)
#
# CRF -> AIN (experiment 3, CoNLL-2003 English, BiLSTM word+char encoder, GloVe 50d subset):
#   en_crf            the teacher: conll03_ner.jsonnet with the CRF
#   en_mfvi1          the student without KD: the same config with AIN-1O
#   en_mfvi1_<loss>   AIN-1O students of en_crf (distillation/crf_to_ain.jsonnet), one per loss
# Teachers of the multilingual student (experiment 1, CoNLL-2002, no pretrained vectors):
#   es_crf, nl_crf    conll02_ner.jsonnet with the CRF
#
# A student waits for its teacher's model.tar.gz (give the teacher's name first, or run it
# before). Every run gets one thread and `nice`, in the background, logging to RUN_ROOT/<name>.log;
# a run whose directory already holds a config.json continues with `--recover`. EPOCHS caps the
# epochs (default: the configs' 100); a run stopped before its cap is scored on its best dev
# epoch by `benchmarks/accuracy_report.py --evaluate-stopped`. DRY_RUN=1 prints the commands and
# runs nothing.
set -euo pipefail
root=${1:?usage: distillation_runs.sh RUN_ROOT [NAME ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
data=${AIN_SHARED_DATA:-$here/../shared/data}
[ -n "${DRY_RUN:-}" ] || mkdir -p "$root"

#     name                   config                              DECODER  data    LOSS       teacher
runs="en_crf                 conll03_ner.jsonnet                 crf      en      -          -
en_mfvi1                     conll03_ner.jsonnet                 mfvi1    en      -          -
en_mfvi1_posterior           distillation/crf_to_ain.jsonnet     mfvi1    en      posterior  en_crf
en_mfvi1_top_wk              distillation/crf_to_ain.jsonnet     mfvi1    en      top_wk     en_crf
en_mfvi1_emission            distillation/crf_to_ain.jsonnet     mfvi1    en      emission   en_crf
en_mfvi1_top_k               distillation/crf_to_ain.jsonnet     mfvi1    en      top_k      en_crf
es_crf                       conll02_ner.jsonnet                 crf      esp     -          -
nl_crf                       conll02_ner.jsonnet                 crf      ned     -          -"

wanted=" $* "
while read -r name config decoder corpus loss teacher; do
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  if [ "$corpus" = en ]; then
    files=("$data/conll2003_en/eng.train" "$data/conll2003_en/eng.testa" "$data/conll2003_en/eng.testb")
    glove=$data/embeddings/glove.6B.50d.subset.txt
  else
    files=("$data/conll2002/$corpus.train" "$data/conll2002/$corpus.testa" "$data/conll2002/$corpus.testb")
    glove=""  # the English vectors do not suit Spanish or Dutch
  fi
  overrides="{}"
  if [ -n "${EPOCHS:-}" ]; then overrides="{\"trainer.num_epochs\": $EPOCHS}"; fi
  recover=""
  if [ -f "$root/$name/config.json" ]; then recover="--recover"; fi
  teacher_archive=""
  if [ "$teacher" != - ]; then teacher_archive=$root/$teacher/model.tar.gz; fi
  command=(env TRAIN_DATA="${files[0]}" DEV_DATA="${files[1]}" TEST_DATA="${files[2]}" GLOVE="$glove"
    ENCODER=bilstm DECODER="$decoder" LOSS="$loss" TEACHER="$teacher_archive" CUDA_DEVICE=-1
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 "$here/.venv/bin/allennlp" train
    "$here/training_configs/$config" -s "$root/$name" $recover -o "$overrides"
    --include-package allennlp_ain --file-friendly-logging)
  echo "$name: $(printf '%q ' "${command[@]}")"  # quoted: a line can be pasted into a shell
  [ -z "${DRY_RUN:-}" ] || continue
  if [ -n "$teacher_archive" ]; then
    # the student starts once its teacher's archive exists
    nohup bash -c 'until [ -f "$0" ]; do sleep 60; done; exec "$@"' "$teacher_archive" "${command[@]}" \
      > "$root/$name.log" 2>&1 &
  else
    nohup "${command[@]}" > "$root/$name.log" 2>&1 &
  fi
done <<< "$runs"
