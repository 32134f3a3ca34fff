// CoNLL-2003 English chunking (column 3 of the NER files, IOB1 in the files, BIOES for the model).
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  eng.train, eng.testa, eng.testb
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';

lib.experiment(
  lib.task(
    reader={ type: 'ain_conll', label_column: 2, tag_scheme: 'IOB1', convert_to: 'BIOES' },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('DEV_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={ glove: lib.glove, cuda_device: lib.cuda_device },
)
