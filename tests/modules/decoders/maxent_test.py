import pytest
import torch

from allennlp_ain.modules.decoders import MaxEnt, SequenceDecoder


def test_registered():
    assert SequenceDecoder.by_name("maxent") is MaxEnt


def test_maxent_matches_definition():
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 3, generator=generator)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    tags = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 1]])
    maxent = MaxEnt(3)
    log_probs = torch.log_softmax(logits, -1)
    expected = -(log_probs[0, range(4), tags[0]].sum() + log_probs[1, range(2), tags[1, :2]].sum()) / 2
    assert maxent.loss(logits, tags, mask).item() == pytest.approx(expected.item(), abs=1e-5)
    assert maxent.decode(logits, mask).tolist() == [logits[0].argmax(-1).tolist(), logits[1, :2].argmax(-1).tolist() + [0, 0]]
    torch.testing.assert_close(maxent.marginals(logits, mask)[1, :2], torch.softmax(logits[1, :2], -1))
    with pytest.raises(NotImplementedError, match="MaxEnt"):
        maxent.log_partition(logits, mask)


def test_first_max_label_is_argmax_with_ties_and_infinities():
    from allennlp_ain.modules.decoders.span_repair import first_max_label

    generator = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        scores = torch.randint(-3, 3, (5, 40, 7), generator=generator).to(dtype)  # many ties
        scores[0, 0, 2] = float("inf")
        scores[0, 1, :] = float("-inf")
        scores[0, 2, 3] = float("-inf")
        scores[0, 3, 1] = scores[0, 3, 4] = float("inf")
        assert torch.equal(first_max_label(scores.permute(2, 0, 1)), scores.argmax(-1))
