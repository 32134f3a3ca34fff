// UD POS tagging (UPOS) from CoNLL-U files.
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  CoNLL-U files
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';
local glove = std.extVar('GLOVE');

lib.experiment(
  reader={ type: 'ain_ud', tag_column: 'upos' },
  train=std.extVar('TRAIN_DATA'),
  dev=std.extVar('DEV_DATA'),
  test=std.extVar('TEST_DATA'),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  glove=if glove == '' then null else glove,
  cuda_device=std.parseInt(std.extVar('CUDA_DEVICE')),
)
