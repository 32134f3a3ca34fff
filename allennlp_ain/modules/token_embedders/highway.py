import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Highway
from allennlp.modules.token_embedders import TokenEmbedder
from allennlp.nn import Activation


@TokenEmbedder.register("ain_highway")
class HighwayEmbedder(TokenEmbedder):
    """
    A token embedder followed by highway layers (Srivastava et al., 2015, as AllenNLP's `Highway`
    computes them): each layer maps `x` to `c ⊙ x + (1 − c) ⊙ f(W_h x + b_h)` with the carry gate
    `c = σ(W_c x + b_c)` (`b_c` starts at 1, so a layer starts close to carrying `x`), so the output
    is as wide as `embedder`'s. Lin et al. (2018) put a highway network over their character CNN's
    output; `{"type": "ain_highway", "embedder": {"type": "ain_character_encoding", ...}}` does.

    Registered as a `TokenEmbedder` with name "ain_highway".

    # Parameters

    embedder : `TokenEmbedder`
        Whatever its inputs are, it gets them (e.g. `token_characters`).
    num_layers : `int`, optional (default = `1`)
    activation : `Activation`, optional (default = `"relu"`)
        `f`, for example `"relu"` or `"selu"` (Lin et al.'s example configuration).
    """

    def __init__(
        self, embedder: TokenEmbedder, num_layers: int = 1, activation: Activation = Activation.by_name("relu")()
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigurationError(f"ain_highway: num_layers must be positive, got {num_layers}")
        self.embedder = embedder
        self.highway = Highway(embedder.get_output_dim(), num_layers, activation=activation)

    def get_output_dim(self) -> int:
        return self.embedder.get_output_dim()

    def forward(self, *inputs: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:  # type: ignore
        return self.highway(self.embedder(*inputs, **kwargs))
