// Multi-task experiments (Lu et al.'s SC-LSTM and its baselines): several `task(...)` objects of
// the tagger lib, one `ain_multitask_tagger` over them, AllenNLP's `multitask` reader and loader
// with Algorithm 1 (`ain_random_interleave`: one task per batch, tasks drawn at random).
//
//   local lib = import 'lib/tagger.libsonnet';
//   local mtl = import 'lib/multitask.libsonnet';
//   mtl.experiment(tasks={ pos: lib.task(...), ner: lib.task(...) }, order=['pos', 'ner'],
//                  encoder='sc_lstm', decoder='maxent', options={ glove: lib.glove })
local lib = import 'tagger.libsonnet';
{
  // Table 3's encoders over `tasks` (an ordered list of names): the SC-LSTM; LSTM-s, one stacked
  // BiLSTM with every head on top (with one task: the single-task baseline); LSTM-d, layer k of a
  // stacked BiLSTM feeds task k (as many layers as tasks, the target last).
  encoders(tasks, input_dim, hidden, layers, dropout):: {
    sc_lstm: { type: 'ain_sc_lstm', input_dim: input_dim, hidden_size: hidden, num_layers: layers, tasks: tasks, dropout: dropout },
    lstm_s: {
      type: 'ain_shared',
      tasks: tasks,
      encoder: {
        type: 'lstm',
        input_size: input_dim,
        hidden_size: hidden,
        num_layers: layers,
        bidirectional: true,
        dropout: if layers > 1 then dropout else 0.0,
      },
    },
    lstm_d: { type: 'ain_layer_per_task', input_dim: input_dim, hidden_size: hidden, tasks: tasks, dropout: dropout },
  },

  // What `experiment` takes as `options`, and their defaults (the paper's Table 3 settings, with
  // the 50d GloVe vectors that ../shared/data has instead of 100d):
  //   glove          a GloVe text file, or null          cuda_device  -1 for the CPU
  //   hidden, layers the encoder: 300 units, 3 layers   dropout      between layers and on the embeddings
  //   loss_weights   λ per task (Eq. 4)                   num_epochs, batch_size, lr, patience
  //   capitalization the 8 capitalisation features (`ain_capitalization`), 8-dimensional embeddings
  //   chars          the character CNN of the single-task taggers (lib.embedder: 50 filters of
  //                  width 3 over 25-dimensional characters), the paper's "-CNN" models
  //   bucket         batches of similar lengths (the scheduler's `sorting_key`), so less padding
  defaults:: {
    glove: null,
    cuda_device: -1,
    hidden: 300,
    layers: 3,
    dropout: 0.5,
    loss_weights: {},
    num_epochs: 30,
    batch_size: 10,
    lr: 0.001,
    patience: 10,
    capitalization: true,
    chars: false,
    bucket: true,
  },

  experiment(tasks, order, encoder, decoder, options={})::
    local unknown = std.setDiff(std.objectFields(options), std.objectFields($.defaults));
    local opt =
      if unknown != [] then
        error 'unknown multitask option %s; the options are %s' % [std.join(', ', unknown), std.join(', ', std.objectFields($.defaults))]
      else $.defaults + options;
    local names = if std.sort(order) == std.sort(std.objectFields(tasks)) then order
                  else error 'order %s must list the tasks %s' % [std.toString(order), std.toString(std.objectFields(tasks))];
    local indexers = lib.token_indexers(opt.chars)
                     + (if opt.capitalization then { capitalization: { type: 'ain_capitalization' } } else {});
    local reader(name, r) = r { label_namespace: name + '_labels', token_indexers: indexers };
    local input_dim = lib.embedding_dim(opt.chars) + (if opt.capitalization then 8 else 0);
    local metric(name) = if tasks[name].label_encoding == null then '+' + name + '_accuracy' else '+' + name + '_f1-measure-overall';
    {
      dataset_reader: { type: 'multitask', readers: { [name]: reader(name, tasks[name].reader) for name in names } },
      validation_dataset_reader: {
        type: 'multitask',
        readers: {
          // every distributed worker validates on the whole dev set (the readers' distributed_sharding)
          [name]: reader(name, if tasks[name].validation_reader != null then tasks[name].validation_reader else tasks[name].reader)
                  { distributed_sharding: false }
          for name in names
        },
      },
      train_data_path: { [name]: tasks[name].train for name in names },
      validation_data_path: { [name]: tasks[name].dev for name in names },
      test_data_path: { [name]: tasks[name].test for name in names },
      evaluate_on_test: true,
      vocabulary: lib.vocabulary(opt.glove, [name + '_labels' for name in names]),
      model: {
        type: 'ain_multitask_tagger',
        text_field_embedder: lib.embedder(opt.glove, opt.chars) + {
          token_embedders+: if opt.capitalization then { capitalization: { type: 'embedding', embedding_dim: 8, vocab_namespace: 'capitalization' } } else {},
        },
        encoder: $.encoders(names, input_dim, opt.hidden, opt.layers, opt.dropout)[encoder],
        heads: {
          [name]: { label_namespace: name + '_labels', label_encoding: tasks[name].label_encoding, decoder: lib.decoder(decoder) }
          for name in names
        },
        loss_weights: opt.loss_weights,
        dropout: opt.dropout,
      },
      local scheduler = { type: 'ain_random_interleave', batch_size: opt.batch_size, [if opt.bucket then 'sorting_key']: 'tokens' },
      data_loader: { type: 'multitask', scheduler: scheduler },
      // validation draws nothing from `random`, so a resumed run replays the same batch order
      validation_data_loader: { type: 'multitask', scheduler: scheduler, shuffle: false },
      trainer: {
        optimizer: { type: 'adam', lr: opt.lr },
        validation_metric: [metric(name) for name in names],  // summed: the tasks' average selects
        num_epochs: opt.num_epochs,
        patience: opt.patience,
        grad_norm: 5.0,
        cuda_device: opt.cuda_device,
      } + lib.resumable,
    },
}
