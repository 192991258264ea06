"""The report package: written comparisons decided by the numbers, ranked and grouped; words a family owns."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from typing import Any

import numpy as np
import pytest

from aezoo.analysis import latent_metrics
from aezoo.families import FAMILIES, MODELS, ModelSpec
from aezoo.report import written_comparison
from aezoo.report.measures import likelihood
from aezoo.report.parts import Measure
from aezoo.report.records import GenerationScores, Likelihood, ModelReport
from aezoo.report.words import Tie, rank, ranked


def latent_record(knn: float, silhouette: float = 0.15, jump: float = 1.5, pca: float = 0.8,
                  end_error: float = 0.05, **measured: Any) -> dict[str, Any]:
    """A ``latent_metrics.json`` of a 10-D embedding with the given figures (the rest fixed)."""
    def accuracy(value: float, **extra: Any) -> dict[str, Any]:
        return {"accuracy": value, "std": 0.01, "folds": 5, **extra}

    return {
        "embedding_dim": 10, "embedding_shape": [10], "dataset": "embedded", "images": 1000, "seed": 0,
        "tsne": {"perplexity": 30.0}, "knn_accuracy": accuracy(knn), "knn_accuracy_noisy_input": accuracy(knn - 0.02),
        "knn_accuracy_pca": accuracy(pca, dimensions=10, requested_dimensions=10),
        "knn_accuracy_pixels": accuracy(0.9), "chance_accuracy": 0.11, "silhouette_embedding": silhouette,
        "silhouette_tsne": 0.4, "silhouette_pixels": 0.05, "tsne_trustworthiness": 0.95,
        "interpolation": {"mean_step": 0.02, "max_step": 0.1, "jump_ratio": jump, "pairs": 100, "points_per_pair": 12,
                          "end_error": end_error},
        "spread": {"mean_std": 1.0, "mean_norm": 3.0}, "seconds": {"total": 3.0, "tsne": 2.0}, **measured,
    }


def kl_usage(active: int, dimensions: int = 10) -> dict[str, Any]:
    kl = np.tile([1.5] * active + [0.0] * (dimensions - active), (5, 1))
    return latent_metrics.kl_usage(kl, np.tile(np.linspace(-1, 1, 5)[:, None], (1, dimensions)))


def codebook() -> dict[str, Any]:
    return {"num_codes": 64, "perplexity": 41.3, "dead_codes": 5, "used_codes": 59, "counts": [1] * 64}


def model(name: str, latent: dict[str, Any] | None, psnr: float = 17.0, **config: Any) -> ModelReport:
    """A finished model named as ``--model`` names it, with the class its name builds."""
    spec = MODELS[name]
    metrics = {"model": name, "class": spec.model_class.__name__, "config": spec.defaults() | config,
               "test": {"psnr": psnr, "ssim": 0.7, "mse": 0.02}}
    return ModelReport.of(name, metrics, latent)


def seven_models() -> list[ModelReport]:
    """Every ``--model`` name of the zoo once, as a default run of the whole zoo would give them."""
    return [
        model("ae", latent_record(0.899, silhouette=0.12, jump=1.24), psnr=17.07),
        model("vae", latent_record(0.892, silhouette=0.11, jump=1.28, latent_usage=kl_usage(10)), psnr=16.97),
        model("beta_vae", latent_record(0.850, silhouette=0.10, jump=1.10, latent_usage=kl_usage(4)), psnr=15.90),
        model("iwae", latent_record(0.899, silhouette=0.13, jump=1.30, latent_usage=kl_usage(9)), psnr=16.90),
        model("cvae", latent_record(0.565, silhouette=0.01, jump=1.60, latent_usage=kl_usage(7)), psnr=16.50),
        model("vqvae", latent_record(0.801, silhouette=0.05, jump=2.10, codebook=codebook()), psnr=17.30),
        model("unet", None, psnr=19.20),
    ]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Za-z])", text) if s]


# ----------------------------------------------------------------------------- ranking


def test_rank_groups_the_level_leaders_and_trailers() -> None:
    ranking = rank({"a": 0.90, "b": 0.70, "c": 0.895, "d": 0.60, "e": 0.605}, Tie(0.01))
    assert ranking.leaders == ("a", "c") and ranking.middle == ("b",) and ranking.trailers == ("e", "d")
    assert ranked(ranking, "{:.2f}".format) == "a 0.90 and c 0.90 lead; b 0.70 follows; e 0.60 and d 0.60 trail"
    lower = rank({"a": 2.0, "b": 1.0}, Tie(0.05, relative=True), higher_is_better=False)
    assert ranked(lower, "{:.1f}".format) == "b 1.0 leads; a trails at 2.0"
    assert rank({"a": 1.0, "b": 1.04}, Tie(0.05, relative=True)).level
    strict = rank({"a": 3.0, "b": 1.0, "c": 2.0}, Tie(0.0), higher_is_better=False)  # every difference counts
    assert ranked(strict, "{:.0f}".format) == "b 1 leads; c 2 follows; a trails at 3"


# ----------------------------------------------------------------------------- the written comparison


def test_seven_models_are_ranked_and_grouped_not_chained() -> None:
    text = " ".join(written_comparison(seven_models()))
    assert "5-nearest-neighbour accuracy: ae 89.9%, iwae 89.9% and vae 89.2% lead;" in text
    assert "cvae trails at 56.5%" in text
    assert not re.search(r"(beats|matches|falls short of) it and", text), "a chain of verdicts, one per model"
    assert text.count(" beat it") + text.count(" beats it") == 1  # one group, named once
    separation = next(p for p in written_comparison(seven_models()) if p.startswith("Class separation"))
    for sentence in sentences(separation):  # each model named at most once a sentence
        for name in MODELS:
            assert len(re.findall(rf"\b{name}\b", sentence)) <= 1, (name, sentence)


def test_models_are_named_as_the_family_list_spells_them() -> None:
    models = seven_models()
    text = " ".join(written_comparison(models))
    assert {m.name for m in models} <= set(MODELS)
    for name in (m.name for m in models):  # the seven it is given; families added later are not in it
        if name != "unet":  # no latent space: not in the latent comparison
            assert re.search(rf"\b{name}\b", text), name
        assert not re.search(rf"\b{name.upper()}\b", text), f"{name.upper()} instead of {name}"


def test_comparison_follows_the_numbers() -> None:
    ae, vae = model("ae", latent_record(0.93, 0.20, 2.5)), model("vae", latent_record(0.85, 0.10, 1.4,
                                                                                         latent_usage=kl_usage(2, 3)))
    text = " ".join(written_comparison([ae, vae]))
    assert "ae 93.0% leads; vae trails at 85.0%" in text
    assert "vae interpolates more smoothly" in text
    assert "2 of its 3 latent dimensions carry information" in text
    ae, vae = model("ae", latent_record(0.80, 0.05, 1.3)), model("vae", latent_record(0.90, 0.2, 2.0,
                                                                                        latent_usage=kl_usage(2, 3)))
    flipped = " ".join(written_comparison([ae, vae]))
    assert "vae 90.0% leads; ae trails at 80.0%" in flipped and "ae interpolates more smoothly" in flipped


def test_comparison_calls_small_differences_a_tie() -> None:
    ae = model("ae", latent_record(0.900, 0.20, 1.50))
    vae = model("vae", latent_record(0.905, 0.21, 1.52, latent_usage=kl_usage(2, 3)))
    text = " ".join(written_comparison([ae, vae]))
    assert "equally good" in text and "about equal" in text and "about equally smoothly" in text
    before_interpolation = text.split("Interpolation")[0]
    assert "lead" not in before_interpolation and "better" not in before_interpolation.replace("better separated", "")


# ----------------------------------------------------------------------------- words a family owns


def test_a_familys_paragraph_is_written_only_for_its_own_models() -> None:
    models = seven_models()
    text = " ".join(written_comparison(models))
    kl = next(p for p in written_comparison(models) if p.startswith("The KL term"))
    kl_models = ("vae", "beta_vae", "iwae", "cvae")  # the VAE lineage: one paragraph for all of them
    assert all(re.search(rf"\b{name}\b", kl.split("No KL term")[0]) for name in kl_models)
    assert not re.search(r"\b(ae|vqvae)\b", kl.split("No KL term")[0])
    assert "snaps each cell of its grid" in text and "by design, its encoder and decoder are told the class" in text
    plain = " ".join(written_comparison([m for m in models if m.name in ("ae", "unet")]))
    for owned in ("KL term", "codebook", "told the class"):
        assert owned not in plain


def test_the_report_speaks_for_whatever_a_family_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    """A family that is not in the zoo yet gets its own paragraph from its own analysis module, and
    nothing of it shows for the other models."""
    module = types.ModuleType("tests.not_yet_a_family_analysis")
    module.REPORT = (Measure("mean discrepancy", paragraphs=lambda mine, everyone: [
        f"Only {', '.join(m.name for m in mine)} measured its maximum mean discrepancy."]),)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    family = dataclasses.replace(FAMILIES["ae"], name="wae", analysis=module.__name__)
    wae = dataclasses.replace(model("ae", latent_record(0.88)), name="wae", spec=ModelSpec("wae", family))
    text = " ".join(written_comparison([model("ae", latent_record(0.9)), wae, model("vae", latent_record(
        0.85, latent_usage=kl_usage(5)))]))
    assert "Only wae measured its maximum mean discrepancy." in text


def test_the_unconditional_models_are_ranked_by_nll() -> None:
    def scores(nll: float, quantity: str = "-log p(x)") -> GenerationScores:
        return GenerationScores(sampler="prior", likelihood=Likelihood(nll, -nll, -nll - 8, quantity))

    text = likelihood.nll_sentence({"vae": scores(440.55), "beta_vae": scores(456.44), "iwae": scores(436.10),
                                    "cvae": scores(400.0, "-log p(x | y)")})
    assert text.endswith("iwae 436.10 leads; vae 440.55 follows; beta_vae trails at 456.44.")
    assert "cvae" not in text  # -log p(x | y) is another quantity


def test_a_run_without_latent_spaces_writes_no_comparison():
    """A run of the U-Net alone: no model has a latent space, so no measure speaks (it used to index model 0)."""
    from aezoo.report.page import CLOSING, SHARED, written_comparison
    from aezoo.report.parts import measures_in_use

    assert measures_in_use(SHARED, [], CLOSING) == []
    assert written_comparison([], labelled=True) == []
