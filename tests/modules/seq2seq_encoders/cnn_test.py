import pytest
import torch
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder

from allennlp_ain.modules.seq2seq_encoders import WordCnnEncoder


def test_registered_and_not_bidirectional():
    assert Seq2SeqEncoder.by_name("ain_cnn") is WordCnnEncoder
    encoder = WordCnnEncoder(input_dim=4, hidden_dim=6, kernel_size=3)
    assert (encoder.get_input_dim(), encoder.get_output_dim(), encoder.is_bidirectional()) == (4, 6, False)
    with pytest.raises(ValueError, match="odd kernel_size"):
        WordCnnEncoder(input_dim=4, kernel_size=2)


def test_equals_a_step_by_step_convolution_and_padding_never_leaks():
    torch.manual_seed(0)
    encoder = WordCnnEncoder(input_dim=3, hidden_dim=5, kernel_size=3)
    lengths = [4, 2, 1]
    inputs = torch.randn(3, 6, 3)
    mask = torch.arange(6).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    output = encoder(inputs, mask)
    weight, bias = encoder._convolution.weight, encoder._convolution.bias  # (out, in, kernel)
    for b, n in enumerate(lengths):
        for i in range(6):
            if i >= n:
                assert torch.equal(output[b, i], torch.zeros(5))
                continue
            expected = bias.clone()
            for offset in (-1, 0, 1):  # only real neighbours contribute
                if 0 <= i + offset < n:
                    expected = expected + weight[:, :, offset + 1] @ inputs[b, i + offset]
            torch.testing.assert_close(output[b, i], torch.relu(expected))
    # garbage in the padding changes nothing
    noisy = torch.where(mask.unsqueeze(2), inputs, torch.full_like(inputs, 1e6))
    torch.testing.assert_close(encoder(noisy, mask), output)
