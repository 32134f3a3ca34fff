import pytest
import torch
from allennlp.common import Params

from allennlp_ain.modules.decoders import MeanField, SequenceDecoder
from allennlp_ain.tag_schemes import allowed_transitions
from tests.modules.decoders.brute_force import BIOES, exact, valid_bioes

LABELS = 3
LENGTHS = [5, 1, 2, 4, 3]


def random_problem(seed, order=1, lengths=LENGTHS, num_labels=LABELS, scale=1.0, pad_to=None):
    generator = torch.Generator().manual_seed(seed)
    batch, width = len(lengths), pad_to or max(lengths)
    logits = torch.randn(batch, width, num_labels, generator=generator, dtype=torch.float64)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    decoder = MeanField(num_labels, order=order).double()
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return decoder, logits, mask


def naive_mean_field(decoder, logits, mask):
    """The update formula of the paper, one position at a time: final scores qᴹ per sentence."""
    transitions, start, end = (p.detach().double() for p in decoder.potentials())
    second = decoder.second_order_transitions
    second = None if second is None else second.detach().double()
    results = []
    for b in range(logits.size(0)):
        n = int(mask[b].sum())
        unary = logits[b, :n].double()
        q = [torch.softmax(unary[i], -1) for i in range(n)]
        for _ in range(decoder.iterations):
            scores = []
            for i in range(n):
                s = unary[i].clone()
                if i == 0:
                    s = s + start
                if i == n - 1:
                    s = s + end
                if i - 1 >= 0:
                    s = s + q[i - 1] @ transitions  # Σ_{y_{i-1}} Q(y_{i-1}) U[y_{i-1}, y_i]
                if i + 1 < n:
                    s = s + transitions @ q[i + 1]  # Σ_{y_{i+1}} Q(y_{i+1}) U[y_i, y_{i+1}]
                if second is not None and i - 2 >= 0:
                    s = s + q[i - 2] @ second
                if second is not None and i + 2 < n:
                    s = s + second @ q[i + 2]
                scores.append(s)
            q = [torch.softmax(s, -1) for s in scores]
        results.append(torch.stack(scores))
    return results


@pytest.mark.parametrize("order", [1, 2])
def test_zero_transitions_give_the_softmax(order):
    decoder, logits, mask = random_problem(0, order=order, scale=0.0)
    marginals = decoder.marginals(logits, mask)
    expected = torch.softmax(logits.float(), -1) * mask.unsqueeze(2)
    torch.testing.assert_close(marginals.double(), expected.double(), atol=1e-6, rtol=1e-6)
    assert torch.equal(decoder.decode(logits, mask), logits.argmax(-1).masked_fill(~mask, 0))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("seed", range(3))
def test_vectorised_updates_equal_the_per_position_loop(order, seed):
    decoder, logits, mask = random_problem(seed, order=order, scale=1.5)
    decoder.iterations = 4
    reference = naive_mean_field(decoder, logits, mask)
    marginals = decoder.marginals(logits, mask)
    tags = decoder.decode(logits, mask)
    gold = torch.randint(0, LABELS, mask.shape, generator=torch.Generator().manual_seed(seed))
    expected_loss = []
    for b, n in enumerate(LENGTHS):
        q = torch.softmax(reference[b], -1)
        torch.testing.assert_close(marginals[b, :n].double(), q, atol=1e-5, rtol=1e-5)
        assert marginals[b, n:].abs().sum() == 0
        assert tags[b, :n].tolist() == q.argmax(-1).tolist()
        assert tags[b, n:].eq(0).all()
        expected_loss.append(-torch.log_softmax(reference[b], -1)[torch.arange(n), gold[b, :n]].sum())
    loss = decoder.loss(logits, gold, mask)
    assert loss.item() == pytest.approx(torch.stack(expected_loss).mean().item(), abs=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_weak_coupling_is_close_to_the_exact_marginals(seed):
    decoder, logits, mask = random_problem(seed, order=1, lengths=[5, 3, 4], scale=0.05)
    with torch.no_grad():  # keep the boundary scores strong: they are unary factors, exact in MFVI
        decoder.start_transitions.mul_(40)
        decoder.end_transitions.mul_(40)
    marginals = decoder.marginals(logits, mask)
    transitions, start, end = (p.detach().double() for p in decoder.potentials())
    for b, n in enumerate([5, 3, 4]):
        reference = exact(logits[b, :n], transitions, start, end)[3]
        torch.testing.assert_close(marginals[b, :n].double(), reference, atol=5e-3, rtol=0)


@pytest.mark.parametrize("order", [1, 2])
def test_a_single_token_is_exact(order):
    decoder, logits, _ = random_problem(5, order=order, lengths=[1], scale=2.0)
    mask = torch.ones(1, 1, dtype=torch.bool)
    transitions, start, end = (p.detach().double() for p in decoder.potentials())
    reference = exact(logits[0], transitions, start, end)[3]
    torch.testing.assert_close(decoder.marginals(logits, mask)[0].double(), reference, atol=1e-6, rtol=0)


@pytest.mark.parametrize("order", [1, 2])
def test_gradients_reach_unaries_and_every_transition_matrix(order):
    decoder, logits, mask = random_problem(11, order=order)
    decoder = decoder.float()
    logits = logits.float().requires_grad_()
    gold = torch.randint(0, LABELS, mask.shape, generator=torch.Generator().manual_seed(1))
    decoder.loss(logits, gold, mask).backward()
    assert logits.grad[mask].abs().sum() > 0
    assert logits.grad[~mask].abs().sum() == 0
    names = ["transitions", "start_transitions", "end_transitions"]
    names += ["second_order_transitions"] if order == 2 else []
    assert sorted(name for name, _ in decoder.named_parameters()) == sorted(names)
    for name in names:
        assert getattr(decoder, name).grad.abs().sum() > 0, name


@pytest.mark.parametrize("order", [1, 2])
def test_padding_and_batch_composition_do_not_change_results(order):
    decoder, logits, mask = random_problem(7, order=order, pad_to=7, scale=2.0)
    gold = torch.randint(0, LABELS, mask.shape, generator=torch.Generator().manual_seed(2))
    marginals = decoder.marginals(logits, mask)
    for b, n in enumerate(LENGTHS):
        alone = decoder.marginals(logits[b : b + 1, :n], mask[b : b + 1, :n])
        torch.testing.assert_close(marginals[b : b + 1, :n], alone)
        alone_loss = decoder.loss(logits[b : b + 1, :n], gold[b : b + 1, :n], mask[b : b + 1, :n])
        per_sentence = decoder.loss(logits[b : b + 1], gold[b : b + 1], mask[b : b + 1])
        torch.testing.assert_close(alone_loss, per_sentence)
    for garbage in (1e3, float("inf"), float("nan")):
        noisy = logits.masked_fill(~mask.unsqueeze(2), garbage)
        noisy_gold = gold.masked_fill(~mask, 99)
        torch.testing.assert_close(decoder.marginals(noisy, mask), marginals)
        assert torch.equal(decoder.decode(noisy, mask), decoder.decode(logits, mask))
        torch.testing.assert_close(decoder.loss(noisy, noisy_gold, mask), decoder.loss(logits, gold, mask))


@pytest.mark.parametrize("order", [1, 2])
def test_autocast_stays_finite_and_float32(order):
    decoder, logits, mask = random_problem(3, order=order, scale=3.0)
    decoder = decoder.float()
    logits = (logits.float() * 30).requires_grad_()
    gold = logits.argmax(-1)
    expected = decoder.loss(logits, gold, mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = decoder.loss(logits.bfloat16(), gold, mask)
        marginals = decoder.marginals(logits.bfloat16(), mask)
    assert loss.dtype == torch.float32 and marginals.dtype == torch.float32
    assert torch.isfinite(loss) and torch.isfinite(marginals).all()
    assert loss.item() == pytest.approx(expected.item(), rel=0.05, abs=0.5)  # only the inputs were rounded
    loss.backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(decoder.transitions.grad).all()


@pytest.mark.parametrize("order", [1, 2])
def test_constraints_give_valid_bioes(order):
    constraints = allowed_transitions("BIOES", BIOES)
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 6, len(BIOES), generator=generator) * 3
    mask = torch.arange(6).unsqueeze(0) < torch.randint(1, 7, (64, 1), generator=generator)
    free = MeanField(len(BIOES), order=order)
    # plain argmax of Qᴹ ignores the label scheme: with untrained transitions it is often invalid
    free_tags = free.decode(logits, mask)
    assert not all(valid_bioes(free_tags[b, : mask[b].sum()].tolist()) for b in range(64))
    decoder = MeanField(len(BIOES), order=order, constraints=constraints)
    tags = decoder.decode(logits, mask)
    for b in range(64):
        assert valid_bioes(tags[b, : mask[b].sum()].tolist())
    assert tags[~mask].eq(0).all()
    # the penalties are part of the messages in training too, and stay finite
    loss = decoder.loss(logits.requires_grad_(), tags, mask)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert torch.isfinite(decoder.marginals(logits, mask)).all()


def test_exact_only_operations_raise_errors_naming_the_decoder():
    decoder, logits, mask = random_problem(0)
    with pytest.raises(NotImplementedError, match="MeanField"):
        decoder.log_partition(logits, mask)
    with pytest.raises(NotImplementedError, match="MeanField"):
        decoder.topk(logits, mask, 2)


def test_registry_params_and_errors():
    assert SequenceDecoder.by_name("mfvi") is MeanField
    decoder = SequenceDecoder.from_params(Params({"type": "mfvi", "order": 2, "iterations": 2}), num_labels=4)
    assert isinstance(decoder, MeanField) and decoder.order == 2 and decoder.iterations == 2
    assert decoder.second_order_transitions.shape == (4, 4)
    assert MeanField(4).second_order_transitions is None
    with pytest.raises(ValueError, match="order"):
        MeanField(4, order=3)
    with pytest.raises(ValueError, match="iterations"):
        MeanField(4, iterations=0)
    with pytest.raises(ValueError, match=r"\(batch, seq, 4\)"):
        MeanField(4).decode(torch.zeros(2, 3, 5), torch.ones(2, 3, dtype=torch.bool))


def test_long_sequence_and_big_batch_stay_finite():
    decoder = MeanField(17, order=2)
    with torch.no_grad():
        for parameter in decoder.parameters():
            parameter.normal_(0, 5)
    logits = torch.randn(64, 500, 17) * 20
    mask = torch.arange(500).unsqueeze(0) < torch.randint(1, 501, (64, 1))
    assert torch.isfinite(decoder.loss(logits, logits.argmax(-1), mask))
    assert decoder.decode(logits, mask).shape == (64, 500)


@pytest.mark.parametrize("order", [1, 2])
def test_the_hand_written_backward_equals_autograd_of_the_traceable_iterations(order, monkeypatch):
    from allennlp_ain.modules.decoders import mfvi

    decoder, logits, mask = random_problem(13, order=order, pad_to=7, scale=1.5)
    decoder.iterations = 3
    # garbage at padding reaches neither path's values nor gradients
    logits = logits.masked_fill(~mask.unsqueeze(2), float("nan"))
    gold = torch.randint(0, LABELS, mask.shape, generator=torch.Generator().manual_seed(3))
    results = []
    for traceable in (False, True):
        monkeypatch.setattr(mfvi, "_tracing", lambda: traceable)
        decoder.zero_grad()
        inputs = logits.clone().requires_grad_()
        inference = decoder.infer(inputs, mask)
        marginals, tags = inference.marginals, inference.tags
        inference.loss(gold).backward()
        results.append([marginals, tags, inputs.grad] + [p.grad.clone() for p in decoder.parameters()])
    assert not results[0][2].isnan().any()
    for fast, reference in zip(*results):
        torch.testing.assert_close(fast, reference)


def test_the_hand_written_backward_passes_gradcheck():
    from allennlp_ain.modules.decoders.mfvi import _MeanFieldIterations

    generator = torch.Generator().manual_seed(4)
    for order in (1, 2):
        # ragged, with an empty sentence
        mask = torch.arange(4) < torch.tensor([[4], [2], [0]])
        logits = torch.randn(3, 4, 3, generator=generator, dtype=torch.float64).requires_grad_()
        start = torch.randn(3, generator=generator, dtype=torch.float64).requires_grad_()
        end = torch.randn(3, generator=generator, dtype=torch.float64).requires_grad_()
        stacked = torch.randn(6 * order, 3, generator=generator, dtype=torch.float64).requires_grad_()

        def function(x, s, e, w):
            return _MeanFieldIterations.apply(x, mask, s, e, w, order, 2)[:, :, :4] * mask

        assert torch.autograd.gradcheck(function, (logits, start, end, stacked))
