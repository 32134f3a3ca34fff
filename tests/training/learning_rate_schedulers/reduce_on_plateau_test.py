import torch
from allennlp.common import Params
from allennlp.training.learning_rate_schedulers import LearningRateScheduler

from allennlp_ain.training.learning_rate_schedulers import ReduceOnPlateau


def test_paper_schedule_halves_after_patience_epochs_without_improvement():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = LearningRateScheduler.from_params(
        params=Params({"type": "reduce_on_plateau", "mode": "max", "factor": 0.5, "patience": 10, "verbose": True}),
        optimizer=optimizer,
    )
    assert isinstance(scheduler, ReduceOnPlateau)
    scheduler.step(0.9)
    for _ in range(10):
        scheduler.step(0.5)
    assert optimizer.param_groups[0]["lr"] == 0.1
    scheduler.step(0.5)
    assert optimizer.param_groups[0]["lr"] == 0.05
    state = scheduler.state_dict()
    restored = LearningRateScheduler.from_params(
        params=Params({"type": "reduce_on_plateau", "mode": "max", "factor": 0.5, "patience": 10}), optimizer=optimizer
    )
    restored.load_state_dict(state)
    assert restored.lr_scheduler.best == 0.9
