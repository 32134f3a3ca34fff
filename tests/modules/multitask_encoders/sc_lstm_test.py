"""The SC-LSTM against a naive step-by-step implementation of Eq. 1-3 of Lu et al., written here."""
import pytest
import torch
from allennlp.common import Params

from allennlp_ain.modules.multitask_encoders import MultiTaskEncoder, ScLstm

TASKS = ["pos", "chunk", "ner"]
LENGTHS = [5, 2, 1, 4]


def _batch(seed, dim=3, lengths=LENGTHS, pad_to=None):
    generator = torch.Generator().manual_seed(seed)
    width = pad_to or max(lengths)
    inputs = torch.randn(len(lengths), width, dim, generator=generator, dtype=torch.float64)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return inputs, mask


def _encoder(seed=0, **settings) -> ScLstm:
    torch.manual_seed(seed)
    params = {"input_dim": 3, "hidden_size": 4, "num_layers": 2, "tasks": TASKS, **settings}
    encoder = ScLstm(**params).double()
    with torch.no_grad():  # biases away from zero, so that a wrong bias shows
        for name, parameter in encoder.named_parameters():
            if "bias" in name:
                parameter.uniform_(-0.5, 0.5)
    return encoder


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """Eq. 1: one step of the standard LSTM cell (torch's gate order i, f, g, o)."""
    i, f, g, o = (w_ih @ x + b_ih + w_hh @ h + b_hh).chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _run(xs, weights, hidden):
    """A one-directional LSTM over a list of vectors: the lists of h and c."""
    h, c = torch.zeros(hidden, dtype=torch.float64), torch.zeros(hidden, dtype=torch.float64)
    hs, cs = [], []
    for x in xs:
        h, c = _lstm_step(x, h, c, *weights)
        hs.append(h)
        cs.append(c)
    return hs, cs


def reference(encoder: ScLstm, sentence: torch.Tensor):
    """Every task's output `s^k_t` for one unpadded sentence `(n, input_dim)`, step by step."""
    hidden = encoder.hidden_size
    layer_input = list(sentence)
    for layer in range(encoder.num_layers - 1):
        lstm = encoder.lower
        forward = [getattr(lstm, f"{w}_l{layer}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        backward = [getattr(lstm, f"{w}_l{layer}_reverse") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h_forward, _ = _run(layer_input, forward, hidden)
        h_backward, _ = _run(layer_input[::-1], backward, hidden)
        layer_input = [torch.cat([f, b]) for f, b in zip(h_forward, h_backward[::-1])]
    hs, qs = {}, {}
    for direction in ("fwd", "bwd"):
        suffix = "" if direction == "fwd" else "_reverse"
        cell = [getattr(encoder.top, f"{w}_l0{suffix}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        xs = layer_input if direction == "fwd" else layer_input[::-1]
        h_list, c_list = _run(xs, cell, hidden)
        for task in encoder.tasks:
            gate = encoder.task_gates[direction][task]
            q = torch.zeros(hidden, dtype=torch.float64)
            q_list = []
            for x, c in zip(xs, c_list):  # Eq. 2
                o = torch.sigmoid(gate.recurrent_weight @ q + gate.input_weight @ x + gate.bias)
                q = o * torch.tanh(c)
                q_list.append(q)
            qs[direction, task] = q_list if direction == "fwd" else q_list[::-1]
        hs[direction] = h_list if direction == "fwd" else h_list[::-1]
    return {  # Eq. 3, both directions
        task: torch.stack(
            [torch.cat([qs["fwd", task][t], qs["bwd", task][t], hs["fwd"][t], hs["bwd"][t]]) for t in range(len(sentence))]
        )
        for task in encoder.tasks
    }


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_equals_the_step_by_step_reference(num_layers):
    encoder = _encoder(num_layers=num_layers)
    inputs, mask = _batch(1)
    outputs = encoder(inputs, mask)
    assert set(outputs) == set(TASKS)
    for b, n in enumerate(LENGTHS):
        expected = reference(encoder, inputs[b, :n])
        for task in TASKS:
            assert outputs[task].shape == (len(LENGTHS), max(LENGTHS), 16) == (4, 5, encoder.get_output_dim(task))
            torch.testing.assert_close(outputs[task][b, :n], expected[task], atol=1e-10, rtol=1e-10)
            assert outputs[task][b, n:].abs().sum() == 0


@pytest.mark.parametrize("num_layers", [1, 2])
def test_gradients_equal_the_step_by_step_references(num_layers):
    # tanh(c_t) comes from h_t / o_t, not from c_t itself: the same function of the weights, so
    # every parameter's and the input's gradient must equal the reference's
    encoder = _encoder(num_layers=num_layers)
    inputs, mask = _batch(2)
    inputs.requires_grad_()
    weights = {task: torch.randn(len(LENGTHS), max(LENGTHS), 16, dtype=torch.float64) for task in TASKS}

    def gradients(loss):
        encoder.zero_grad(set_to_none=True)
        inputs.grad = None
        loss.backward()
        found = {name: parameter.grad.clone() for name, parameter in encoder.named_parameters()}
        found["inputs"] = inputs.grad.clone()
        return found

    outputs = encoder(inputs, mask)
    ours = gradients(sum((outputs[task] * weights[task]).sum() for task in TASKS))
    expected = sum(
        (reference(encoder, inputs[b, :n])[task] * weights[task][b, :n]).sum()
        for b, n in enumerate(LENGTHS)
        for task in TASKS
    )
    theirs = gradients(expected)
    assert set(ours) == set(theirs)
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], atol=1e-10, rtol=1e-10, msg=name)


def test_one_task_whose_gate_copies_the_shared_output_gate_gives_q_equal_h():
    encoder = _encoder(num_layers=2, tasks=["only"])
    hidden = encoder.hidden_size
    with torch.no_grad():
        for direction, suffix in (("fwd", ""), ("bwd", "_reverse")):
            gate = encoder.task_gates[direction]["only"]
            w_ih, w_hh, b_ih, b_hh = (getattr(encoder.top, f"{w}_l0{suffix}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            output_rows = slice(3 * hidden, 4 * hidden)  # torch's gate order i, f, g, o
            gate.input_weight.copy_(w_ih[output_rows])
            gate.recurrent_weight.copy_(w_hh[output_rows])
            gate.bias.copy_(b_ih[output_rows] + b_hh[output_rows])
    inputs, mask = _batch(2)
    output = encoder(inputs, mask)["only"]
    torch.testing.assert_close(output[..., : 2 * hidden], output[..., 2 * hidden :], atol=1e-12, rtol=0)


def test_the_shared_part_equals_a_plain_bidirectional_lstm():
    encoder = _encoder(num_layers=2)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.endswith("l0") or name.endswith("l0_reverse"):
                parameter.copy_(getattr(encoder.lower, name))
            else:
                parameter.copy_(getattr(encoder.top, name.replace("_l1", "_l0")))
    inputs, mask = _batch(3, lengths=[5, 5, 5, 5])
    expected = lstm(inputs)[0]
    for task in TASKS:
        torch.testing.assert_close(encoder(inputs, mask)[task][..., 8:], expected, atol=1e-12, rtol=0)


def test_a_task_gate_gets_gradient_from_its_own_task_only():
    encoder = _encoder()
    inputs, mask = _batch(4)
    encoder(inputs, mask)["chunk"].pow(2).sum().backward()
    for name, parameter in encoder.named_parameters():
        if name.startswith("task_gates"):
            own = ".chunk." in name
            assert (parameter.grad is not None and parameter.grad.abs().sum() > 0) == own, name
        else:  # the shared layers learn from every task
            assert parameter.grad.abs().sum() > 0, name
    for task in TASKS:  # task-specific parameter names contain the task's name
        assert any(task in name for name, _ in encoder.named_parameters())


def test_padding_and_batch_composition_change_nothing():
    encoder = _encoder()
    inputs, mask = _batch(5, pad_to=7)
    outputs = encoder(inputs, mask)
    noisy = torch.where(mask.unsqueeze(2), inputs, torch.full_like(inputs, 1e3))
    noisy_outputs = encoder(noisy, mask)
    for b, n in enumerate(LENGTHS):
        alone = encoder(inputs[b : b + 1, :n], mask[b : b + 1, :n])
        for task in TASKS:
            torch.testing.assert_close(outputs[task][b, :n], alone[task][0], atol=1e-12, rtol=0)
            torch.testing.assert_close(noisy_outputs[task], outputs[task], atol=1e-12, rtol=0)


def test_one_directional_and_the_configuration_contract():
    encoder = MultiTaskEncoder.from_params(
        Params({"type": "ain_sc_lstm", "input_dim": 3, "hidden_size": 4, "num_layers": 2, "tasks": ["a", "b"], "bidirectional": False})
    )
    assert isinstance(encoder, ScLstm) and encoder.get_input_dim() == 3 and encoder.get_output_dim("a") == 8
    inputs, mask = _batch(6)
    outputs = encoder.double()(inputs, mask)
    assert set(outputs) == {"a", "b"} and outputs["a"].shape == (4, 5, 8)
    # q and h of the first token depend only on the first input in the forward direction
    changed = inputs.clone()
    changed[:, 1:] += 1.0
    torch.testing.assert_close(encoder(changed, mask)["a"][:, 0], outputs["a"][:, 0])
    for bad, message in [({"tasks": []}, "at least one task"), ({"tasks": ["a", "a"]}, "repeat"), ({"num_layers": 0}, "num_layers"), ({"dropout": 1.0}, "dropout")]:
        with pytest.raises(ValueError, match=message):
            ScLstm(**{"input_dim": 3, "hidden_size": 4, "tasks": ["a"], **bad})
    with pytest.raises(KeyError, match="no task 'c'"):
        encoder.get_output_dim("c")
