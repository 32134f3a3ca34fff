// The SC-LSTM paper's Table 3: UD English-EWT UPOS, CoNLL-2000 chunking (dev = 1,000 seeded
// training sentences held out, as the paper) and CoNLL-2003 NER in one model.
// Variables (environment or --ext-var):
//   POS_TRAIN, POS_DEV, POS_TEST        en_ewt-ud-{train,dev,test}.conllu
//   CHUNK_TRAIN, CHUNK_TEST             CoNLL-2000 train.txt, test.txt
//   NER_TRAIN, NER_DEV, NER_TEST        eng.train, eng.testa, eng.testb
//   TASKS     the tasks to train, comma-separated, in order (target last for lstm_d), e.g.
//             pos,chunk,ner (all), or ner alone for a single-task baseline
//   ENCODER   sc_lstm | lstm_s | lstm_d (lib/multitask.libsonnet), each with `_cnn` appended for
//             a character CNN beside the words (the paper's SC-LSTM-CNN: sc_lstm_cnn)
//   DECODER   maxent | crf | mfvi1 | mfvi2 (every task's head; the paper's Table 3: maxent)
//   GLOVE     GloVe text file, or '' for random embeddings
//   CUDA_DEVICE  -1 for CPU, 0 for the first GPU
local lib = import '../lib/tagger.libsonnet';
local mtl = import '../lib/multitask.libsonnet';
local chunk_reader = {
  type: 'ain_conll',
  label_column: 2,
  tag_scheme: 'BIO',
  convert_to: 'BIOES',
  hold_out: 1000,
  hold_out_file: std.extVar('CHUNK_TRAIN'),
  seed: 13,
};
local all = {
  pos: lib.task(reader={ type: 'ain_ud', tag_column: 'upos' },
                train=std.extVar('POS_TRAIN'), dev=std.extVar('POS_DEV'), test=std.extVar('POS_TEST')),
  chunk: lib.task(reader=chunk_reader, validation_reader=chunk_reader { read_held_out: true },
                  train=std.extVar('CHUNK_TRAIN'), dev=std.extVar('CHUNK_TRAIN'), test=std.extVar('CHUNK_TEST')),
  ner: lib.task(reader={ type: 'ain_conll', label_column: 3, tag_scheme: 'IOB1', convert_to: 'BIOES' },
                train=std.extVar('NER_TRAIN'), dev=std.extVar('NER_DEV'), test=std.extVar('NER_TEST')),
};
local order = std.split(std.extVar('TASKS'), ',');
local encoder = std.extVar('ENCODER');
local chars = std.endsWith(encoder, '_cnn');

mtl.experiment(
  tasks={ [name]: all[name] for name in order },
  order=order,
  encoder=if chars then std.substr(encoder, 0, std.length(encoder) - 4) else encoder,
  decoder=std.extVar('DECODER'),
  // λ_NER = 3: the paper's NER loss was about a third of the others
  options={ glove: lib.glove, cuda_device: lib.cuda_device, chars: chars, loss_weights: if std.member(order, 'ner') then { ner: 3 } else {} },
)
