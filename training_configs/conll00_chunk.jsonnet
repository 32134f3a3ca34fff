// CoNLL-2000 chunking (`token POS chunk`, BIO in the files, BIOES for the model).
// The corpus has no dev split and the test set must not select models, so the model is
// validated on a fixed 10% of the training sentences (seed 13), held out by the reader:
// training reads the other 90% of the same file. TEST_DATA is used only for the final score
// (AllenNLP reads it with the validation reader, which reads any file but TRAIN_DATA whole).
// Variables (environment or --ext-var):
//   TRAIN_DATA, TEST_DATA  train.txt, test.txt
//   ENCODER   bilstm | cnn | word      DECODER  maxent | crf | mfvi1 | mfvi2
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import 'lib/tagger.libsonnet';
local reader = {
  type: 'ain_conll',
  label_column: 2,
  tag_scheme: 'BIO',
  convert_to: 'BIOES',
  hold_out: 0.1,
  hold_out_file: std.extVar('TRAIN_DATA'),
  seed: 13,
};

lib.experiment(
  lib.task(
    reader=reader,
    validation_reader=reader { read_held_out: true },
    train=std.extVar('TRAIN_DATA'),
    dev=std.extVar('TRAIN_DATA'),
    test=std.extVar('TEST_DATA'),
  ),
  encoder=std.extVar('ENCODER'),
  decoder=std.extVar('DECODER'),
  options={ glove: lib.glove, cuda_device: lib.cuda_device },
)
