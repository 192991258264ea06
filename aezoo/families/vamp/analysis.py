"""What only the VampPrior VAE has: learned pseudo-inputs whose posteriors make up its prior.

How many of the K mixture components the test digits' codes really use (the perplexity of the
components' shares of responsibility), and a figure of the pseudo-inputs and of what the decoder
draws from their codes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from aezoo.analysis.plotting import image_grid, save_figure
from aezoo.report.parts import Column, Measure, Models, Row
from aezoo.report.records import ModelReport
from aezoo.report.words import listing

USAGE = "vampprior"  # its entry in latent_metrics.json
FIGURE_COLUMNS = 10


def component_usage(model: Any, codes: np.ndarray) -> dict[str, Any]:
    """How the prior's components share the codes: each code's responsibilities p(k | z), averaged.

    ``effective_components`` is exp of the entropy of the averaged shares (K when every component
    takes an equal share, 1 when one takes them all); ``components_chosen`` counts the components
    most responsible for at least one code.
    """
    import tensorflow as tf

    prior = model.prior()
    z = tf.convert_to_tensor(codes, tf.float32)[:, tf.newaxis, :]
    log_density = prior.components_distribution.log_prob(z)  # [n, K]
    responsibility = tf.nn.softmax(log_density, axis=-1).numpy()
    share = responsibility.mean(axis=0)
    entropy = -float(np.sum(share * np.log(np.maximum(share, 1e-12))))
    return {"pseudo_inputs": int(len(share)), "effective_components": float(np.exp(entropy)),
            "components_chosen": int(len(np.unique(responsibility.argmax(axis=1)))),
            "shares": [float(s) for s in share]}


def measure(model: Any, data: Any, embeddings: np.ndarray) -> dict[str, Any]:
    """``vampprior``: how the test digits' codes (posterior means) share the prior's components."""
    return {USAGE: component_usage(model, embeddings) | {"images": len(embeddings)}}


def figures(model: Any, name: str, data: Any, metrics: dict[str, Any], embeddings: np.ndarray, out_dir: Path,
            seed: int) -> dict[str, Path]:
    """``pseudo_inputs.png``: the pseudo-inputs, then the images decoded from their posterior means."""
    pseudo = np.asarray(model.pseudo_images())
    decoded = np.asarray(model.decode(model.encode(pseudo)))
    columns = min(FIGURE_COLUMNS, len(pseudo))
    padding = (-len(pseudo)) % columns  # each half starts on a row of its own
    blank = np.ones((padding, *pseudo.shape[1:]), np.float32)
    usage = metrics[USAGE]
    figure = image_grid(np.concatenate([pseudo, blank, decoded, blank]), columns,
                        f"{name}: the {len(pseudo)} pseudo-inputs (top) and their codes decoded (bottom); "
                        f"{usage['effective_components']:.1f} components in effective use")
    path = out_dir / "pseudo_inputs.png"
    save_figure(figure, path)
    return {"pseudo_inputs": path}


@dataclasses.dataclass(frozen=True)
class ComponentUsage:
    """The ``vampprior`` entry :func:`measure` writes, as the report reads it."""

    pseudo_inputs: int
    effective_components: float
    components_chosen: int

    @classmethod
    def of(cls, model: ModelReport) -> ComponentUsage:
        usage = model.latent.measured[USAGE]
        return cls(int(usage["pseudo_inputs"]), float(usage["effective_components"]), int(usage["components_chosen"]))


def rows(model: ModelReport) -> list[Row]:
    usage = ComponentUsage.of(model)
    return [("prior components (pseudo-inputs)", str(usage.pseudo_inputs)),
            ("components in effective use (perplexity of their shares)", f"{usage.effective_components:.1f}"),
            ("components most responsible for some test digit", str(usage.components_chosen))]


def _column(model: ModelReport) -> str:
    usage = ComponentUsage.of(model)
    return f"{usage.effective_components:.1f} of {usage.pseudo_inputs}"


def paragraphs(models: Models, everyone: Models) -> list[str]:
    usages = {m.name: ComponentUsage.of(m) for m in models}
    parts = [f"the codes of {name} spread over {u.effective_components:.1f} of its {u.pseudo_inputs} components "
             f"(the most responsible one for some test digit: {u.components_chosen})" for name, u in usages.items()]
    return ["The VampPrior: instead of N(0, I), the prior is a mixture of the posteriors of learned pseudo-inputs, "
            "images trained with the networks so that the prior takes the shape of the real digits' codes; "
            f"{listing(parts)}. A component no digit uses is prior mass where the decoder has seen nothing, which "
            "prior samples would land on."]


def method(models: Models, everyone: Models) -> str:
    return ("VampPrior components: each test digit's code (its posterior mean) gives every component its posterior "
            "responsibility; the components in effective use are exp of the entropy of the average responsibilities.")


VAMPPRIOR = Measure(
    "VampPrior components in use",
    columns=(Column("prior components in use", _column),),
    rows=rows,
    figures=(("pseudo_inputs", "the learned pseudo-inputs and their codes decoded"),),
    paragraphs=paragraphs, method=method)

REPORT: tuple[Measure, ...] = (VAMPPRIOR,)
