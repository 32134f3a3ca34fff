// UD POS tagging (UPOS) from CoNLL-U files; no tag schemes, so the model is validated on accuracy.
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  CoNLL-U files
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';

lib.experiment(
  lib.task(
    reader={ type: 'ain_ud', tag_column: 'upos' },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('DEV_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={ glove: lib.glove, cuda_device: lib.cuda_device },
)
