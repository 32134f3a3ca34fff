import torch
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder


@Seq2SeqEncoder.register("ain_cnn")
class WordCnnEncoder(Seq2SeqEncoder):
    """
    One convolution over time with a ReLU: the paper's WORD-CNN encoder (hidden 512, kernel 3).
    The output keeps the input's length (`kernel_size // 2` padding each side, odd kernels only);
    padded positions are zeroed before the convolution so they never leak into real tokens.

    Not bidirectional in AllenNLP's sense (no forward half and backward half of the output), so
    `is_bidirectional()` is false. Named `WordCnnEncoder` so as not to clash with AllenNLP's
    `CnnEncoder` (a `Seq2VecEncoder`).

    Registered as a `Seq2SeqEncoder` with name "ain_cnn".

    # Parameters

    input_dim : `int`
        The width of the input vectors.
    hidden_dim : `int`, optional (default = `512`)
    kernel_size : `int`, optional (default = `3`)
    """

    def __init__(self, input_dim: int, hidden_dim: int = 512, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ain_cnn needs an odd kernel_size to keep the length, got {kernel_size}")
        self._input_dim = input_dim
        self._hidden_dim = hidden_dim
        self._convolution = torch.nn.Conv1d(input_dim, hidden_dim, kernel_size, padding=kernel_size // 2)

    def get_input_dim(self) -> int:
        return self._input_dim

    def get_output_dim(self) -> int:
        return self._hidden_dim

    def is_bidirectional(self) -> bool:
        return False

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        inputs = inputs * mask.unsqueeze(-1)
        output = torch.relu(self._convolution(inputs.transpose(1, 2))).transpose(1, 2)
        return output * mask.unsqueeze(-1)
