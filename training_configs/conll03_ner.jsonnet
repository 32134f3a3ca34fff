// CoNLL-2003 English NER (column 4, IOB1 in the files, BIOES for the model as in the paper).
// Variables (environment or --ext-var):
//   TRAIN_DATA, DEV_DATA, TEST_DATA  eng.train, eng.testa, eng.testb
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';

lib.experiment(
  lib.task(
    reader={ type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('DEV_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={
    glove: lib.glove,
    cuda_device: lib.cuda_device,
    // Word vectors see case only where no character CNN does (docs/results-accuracy.md).
    cased: !lib.encoders[std.extVar('ENCODER')].with_chars,
  },
)
