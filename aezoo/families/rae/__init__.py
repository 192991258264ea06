"""The regularised autoencoder (RAE): a deterministic autoencoder with a smooth decoder, generating
through a Gaussian mixture fitted to its codes after training.

RAE-GP, the paper's gradient-penalty variant, is ``--decoder-penalty gradient --penalty-weight 5e-8``
rather than a preset of its own: its second-order gradient costs about twice RAE-L2's training
time, which the leaderboard (every family and preset) cannot afford."""

from __future__ import annotations

from typing import Any, Mapping

from aezoo.families.family import Family
from aezoo.models.hyperparameters import ARCHITECTURE, IMAGE_SHAPE, Hyperparameter, LogRange

# The paper's MNIST weights (Ghosh et al. 2020, appendix; the authors' RAE-L2 and RAE-GP MNIST
# configurations). Their reconstruction term is the squared error averaged over the pixels, as
# here, so the weights apply unscaled.
PAPER_CODE_WEIGHT = 1e-4
PAPER_L2_WEIGHT = 1e-7
PAPER_GRADIENT_WEIGHT = 0.5e-7

DECODER_PENALTIES = ("l2", "gradient")

CODE_WEIGHT = Hyperparameter(
    "code_weight", PAPER_CODE_WEIGHT, "weight β of the code penalty β·‖z‖²/2, which keeps the deterministic codes "
    "near the origin (RAE)", kind=float, minimum=0.0, search=LogRange(1e-5, 1e-2), metavar="B")
DECODER_PENALTY = Hyperparameter(
    "decoder_penalty", "l2", "what smooths the decoder: l2, the squared norm of its weights (RAE-L2), or gradient, "
    "the squared gradient of its output with respect to the code (RAE-GP)", kind=str, choices=DECODER_PENALTIES,
    metavar="KIND")
PENALTY_WEIGHT = Hyperparameter(
    "penalty_weight", PAPER_L2_WEIGHT, f"weight λ of the decoder penalty (RAE; the paper's: {PAPER_L2_WEIGHT:g} "
    f"for l2, {PAPER_GRADIENT_WEIGHT:g} for gradient)", kind=float, minimum=0.0,
    search=LogRange(1e-8, 1e-5), metavar="L")

_DECODER_TERMS = {
    "l2": "‖decoder weights‖² (the squared norm of every kernel of the decoder)",
    "gradient": "‖∇_z ‖decoder(z)‖²‖² per image (the squared gradient of the output's squared norm with respect to "
                "the code)",
}


def loss_in_words(config: Mapping[str, Any]) -> str:
    penalty = str(config.get("decoder_penalty", DECODER_PENALTY.default))
    return (f"mean squared error between the output for the noisy image and the clean image, averaged over the "
            f"pixels, + β·‖z‖²/2 of the deterministic code z, + λ·{_DECODER_TERMS[penalty]}; "
            f"β = {config.get('code_weight', CODE_WEIGHT.default):g}, "
            f"λ = {config.get('penalty_weight', PENALTY_WEIGHT.default):g}")


FAMILY = Family(
    name="rae",
    model="aezoo.families.rae.model:RegularizedAutoencoder",
    summary="regularised autoencoder: a deterministic code kept small, a decoder kept smooth; generates through "
            "a Gaussian mixture fitted to its codes",
    paper="Ghosh, Sajjadi, Vergari, Black & Schölkopf 2020, From variational to deterministic autoencoders",
    hyperparameters=(*ARCHITECTURE, CODE_WEIGHT, DECODER_PENALTY, PENALTY_WEIGHT, IMAGE_SHAPE),
    loss_in_words=loss_in_words,
    default_sampler="gmm",
)
