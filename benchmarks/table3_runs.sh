#!/usr/bin/env bash
# The SC-LSTM paper's Table 3 grid on the real data: SC-LSTM (all three tasks in one model), its
# baselines LSTM-s and LSTM-d, and the single-task models, each an `allennlp train` run of
# training_configs/multitask/sclstm_pos_chunk_ner.jsonnet in RUN_ROOT/<name>; and the goal's
# SC-LSTM-CNN (a character CNN beside the words), with the heads DECODER names (default maxent;
# the paper's SC-LSTM-CNN row has crf, the issue also asks for mfvi1).
#
#   benchmarks/table3_runs.sh RUN_ROOT [NAME ...]     (default: every run below)
#
# JOBS runs (default 2) train at once, in the table's order, each with one thread and `nice`; the
# others wait their turn. Each logs to RUN_ROOT/<name>.log; a run whose directory holds a finished
# model.tar.gz is skipped, one with a config.json but no archive continues with `--recover`. The
# script returns when every run has ended; start it with nohup in the background. DRY_RUN=1 prints
# the commands, quoted for a shell, and runs nothing.
#
# The seed K sets AllenNLP's random_seed, numpy_seed and pytorch_seed (the scheduler's draws
# follow random_seed). EPOCHS (default: the config's 30) caps the epochs; HIDDEN (default 300,
# per direction) and BATCH (default 10) change the paper's setting for a CPU budget, as dotted
# overrides (`-o`), recorded in each run's config.json. A run stopped early is a run capped at the
# epochs it finished (constant learning rate, no scheduler): `benchmarks/multitask_report.py
# --evaluate-stopped` scores its best dev epoch on test.
set -euo pipefail
root=${1:?usage: table3_runs.sh RUN_ROOT [NAME ...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
data=${AIN_SHARED_DATA:-$here/../shared/data}
[ -n "${DRY_RUN:-}" ] || mkdir -p "$root"

#     name          TASKS           ENCODER  seed
runs="sclstm_s1     pos,chunk,ner   sc_lstm  1
sclstm_s2           pos,chunk,ner   sc_lstm  2
lstms_s1            pos,chunk,ner   lstm_s   1
lstmd_s1            pos,chunk,ner   lstm_d   1
single_pos_s1       pos             lstm_s   1
single_chunk_s1     chunk           lstm_s   1
single_ner_s1       ner             lstm_s   1
single_pos_s2       pos             lstm_s   2
single_chunk_s2     chunk           lstm_s   2
single_ner_s2       ner             lstm_s   2
sclstmcnn_s1        pos,chunk,ner   sc_lstm_cnn  1
sclstmcnn_s2        pos,chunk,ner   sc_lstm_cnn  2"

wanted=" $* "
for name in "$@"; do
  grep -q "^$name " <<< "$runs" || { echo "$name: not a run of this script (see its table)" >&2; exit 2; }
done
commands=()
while read -r name tasks encoder seed; do
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  if [ -f "$root/$name/model.tar.gz" ]; then echo "$name: finished, skipped"; continue; fi
  extra=""
  if [ -n "${EPOCHS:-}" ]; then extra+=", \"trainer.num_epochs\": $EPOCHS"; fi
  if [ -n "${BATCH:-}" ]; then extra+=", \"data_loader.scheduler.batch_size\": $BATCH, \"validation_data_loader.scheduler.batch_size\": $BATCH"; fi
  if [ -n "${HIDDEN:-}" ]; then
    if [[ "$encoder" == lstm_s* ]]; then extra+=", \"model.encoder.encoder.hidden_size\": $HIDDEN";
    else extra+=", \"model.encoder.hidden_size\": $HIDDEN"; fi
  fi
  overrides="{\"random_seed\": $seed, \"numpy_seed\": $seed, \"pytorch_seed\": $seed$extra}"
  recover=""
  if [ -f "$root/$name/config.json" ]; then recover="--recover"; fi
  command=(env POS_TRAIN="$data/ud/UD_English-EWT/en_ewt-ud-train.conllu"
    POS_DEV="$data/ud/UD_English-EWT/en_ewt-ud-dev.conllu"
    POS_TEST="$data/ud/UD_English-EWT/en_ewt-ud-test.conllu"
    CHUNK_TRAIN="$data/conll2000/train.txt" CHUNK_TEST="$data/conll2000/test.txt"
    NER_TRAIN="$data/conll2003_en/eng.train" NER_DEV="$data/conll2003_en/eng.testa"
    NER_TEST="$data/conll2003_en/eng.testb"
    TASKS="$tasks" ENCODER="$encoder" DECODER="${DECODER:-maxent}"
    GLOVE="$data/embeddings/glove.6B.50d.subset.txt"
    CUDA_DEVICE=-1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    nice -n 10 "$here/.venv/bin/allennlp" train "$here/training_configs/multitask/sclstm_pos_chunk_ner.jsonnet"
    -s "$root/$name" $recover -o "$overrides" --include-package allennlp_ain --file-friendly-logging)
  line=$(printf '%q ' "${command[@]}")
  echo "$name: $line"  # quoted: a line can be pasted into a shell
  commands+=("$line > $(printf '%q' "$root/$name.log") 2>&1 || echo '$name failed: see $root/$name.log' >&2")
done <<< "$runs"
[ -z "${DRY_RUN:-}" ] || exit 0
[ ${#commands[@]} -gt 0 ] || exit 0
printf '%s\0' "${commands[@]}" | xargs -0 -P "${JOBS:-2}" -I{} bash -c '{}'
