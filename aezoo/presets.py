"""Presets: trained models by name, shipped with the package, saved from any run, or on a model hub.

A preset is a folder in Keras's unzipped model format, as keras-hub lays presets out::

    <name>/
      config.json          the model's Keras config: its family's class and every constructor argument
                           (the image shape included)
      model.weights.h5     its weights
      metadata.json        aezoo, Keras and TensorFlow versions; the family and --model name; parameters;
                           the data, noise, seed and split sizes it was trained on; its measured test
                           scores (PSNR, SSIM, and 5-NN, NLL, FD, label accuracy where they apply); the
                           date; the SHA-256 of model.weights.h5; the default sampler's file
      README.md            the model card
      sampler_*.npz|keras  the default sampler, when it learns something (a mixture, a PixelCNN)

Shipped presets live in their family's folder, ``aezoo/families/<family>/presets/<name>/``
(``ae_mnist``, ``vae_mnist``, ...: every family trained with ``python train.py``'s defaults on the
embedded MNIST digits). ``aezoo.load("vae_mnist")`` and every command that takes a model take a
preset name too; ``hf://user/repo`` and ``kaggle://owner/model/keras/variant`` fetch one from the
Hugging Face or Kaggle hub (their client packages, ``huggingface_hub`` / ``kagglehub``, needed).

Trust: a preset loads with the same checks as any ``.keras`` file (only aezoo's classes, nothing
that carries code, Keras safe mode), its weights must match the SHA-256 its metadata records, and a
preset made by a newer aezoo is refused in one line.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from aezoo import __version__, files
from aezoo.errors import UsageError

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
CARD = "README.md"
FAMILIES_FOLDER = Path(__file__).parent / "families"
# The sample judges shipped with the package (aezoo.evaluation.classifier), one preset folder each.
JUDGES_FOLDER = Path(__file__).parent / "evaluation" / "judges"
HUB_SCHEMES = ("hf://", "kaggle://")
# What metadata.json must hold for a preset to be trusted and listed.
REQUIRED_METADATA = ("format", "aezoo_version", "model", "family", "image_shape", "weights_sha256", "test")
FORMAT = 1
# Shipped presets are named <model>_mnist: the model trained with train.py's defaults on the embedded digits.
PRESET_SUFFIX = "_mnist"


def preset_name(model: str) -> str:
    return f"{model}{PRESET_SUFFIX}"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One preset folder and what its metadata says."""

    name: str
    path: Path
    metadata: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.metadata["model"])

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    def row(self) -> dict[str, Any]:
        """What ``python -m aezoo presets`` lists."""
        test, generation = self.metadata.get("test", {}), self.metadata.get("generation", {})
        return {"name": self.name, "model": self.model, "family": self.metadata.get("family"),
                "data": self.metadata.get("data", {}).get("dataset"),
                "image_shape": "x".join(map(str, self.metadata.get("image_shape", []))),
                "test_psnr": test.get("psnr"), "fd": generation.get("frechet_distance"),
                "parameters": self.metadata.get("parameters"), "size_bytes": self.size_bytes}


# ----------------------------------------------------------------------------- finding presets


def shipped() -> dict[str, Path]:
    """Every preset shipped with the package: name -> folder (in the family folders' ``presets/``)."""
    found = {}
    for folder in sorted(FAMILIES_FOLDER.glob("*/presets/*")):
        if (folder / METADATA).is_file():
            found[folder.name] = folder
    return found


def is_hub_address(text: str) -> bool:
    return str(text).startswith(HUB_SCHEMES)


def resolve(name: str) -> Path:
    """A preset's local folder from its name (shipped) or a hub address (downloaded once, cached).

    Raises:
        UsageError: no such preset (naming the nearest), or a hub that cannot be reached.
    """
    if is_hub_address(name):
        return download(name)
    presets = shipped()
    if name in presets:
        return presets[name]
    nearest = difflib.get_close_matches(name, list(presets), n=3, cutoff=0.4)
    offer = f"; did you mean {', '.join(nearest)}?" if nearest else ""
    raise UsageError(f"{name!r} is neither a file or folder nor a preset{offer} "
                     "(python -m aezoo presets lists them)")


def is_preset_folder(folder: Path) -> bool:
    """A folder laid out as a preset (its check says whether it is a whole, trusted one)."""
    return folder.is_dir() and (folder / METADATA).is_file() and (folder / CONFIG).is_file()


def find(location: str | os.PathLike[str]) -> Preset | None:
    """The checked preset that ``location`` names (a shipped name, a hub address or a preset folder), or
    None when it names something else (a run, a model folder, a file).

    Raises:
        UsageError: a name that matches no preset (the nearest are named), a hub that cannot be
            reached, or a preset that fails its checks (weights changed, made by a newer aezoo).
    """
    text = os.fspath(location)
    if looks_like_name(text):
        return check(resolve(text))
    if is_preset_folder(Path(text)):
        return check(Path(text))
    return None


def looks_like_name(text: str) -> bool:
    """A string that names a preset rather than a path: no separator, no suffix, not on disk."""
    return is_hub_address(text) or (os.sep not in text and "." not in text and not Path(text).exists())


# ----------------------------------------------------------------------------- checks and loading


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(folder: Path) -> Preset:
    """The preset in ``folder``, every trust check passed; ``UsageError`` in one line otherwise."""
    folder = Path(folder)
    for needed in (CONFIG, WEIGHTS, METADATA):
        if not (folder / needed).is_file():
            raise UsageError(f"{folder}: not a preset: {needed} is missing")
    try:
        metadata = json.loads((folder / METADATA).read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"{folder / METADATA}: not readable JSON ({error})") from None
    missing = [key for key in REQUIRED_METADATA if not isinstance(metadata, dict) or key not in metadata]
    if missing:
        raise UsageError(f"{folder / METADATA}: lacks {', '.join(missing)}; it is not a complete aezoo preset")
    if _version(metadata["aezoo_version"]) > _version(__version__):
        raise UsageError(f"{folder}: made by aezoo {metadata['aezoo_version']}, newer than this aezoo "
                         f"{__version__}; upgrade aezoo to load it")
    missing = [name for name in metadata.get("sampler_files") or () if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"{folder}: lacks {', '.join(missing)}, the sampler its metadata lists; the preset is not "
                         "whole")
    if sha256(folder / WEIGHTS) != metadata["weights_sha256"]:
        raise UsageError(f"{folder / WEIGHTS}: its SHA-256 differs from the one metadata.json records; the weights "
                         "were changed or damaged, so the preset is refused")
    return Preset(folder.name, folder, metadata)


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(text).split(".")[:3])
    except ValueError:
        return (0,)


def load_model(folder: Path, image_shape: tuple[int, ...] | None = None) -> Any:
    """The Keras model of a checked preset (only aezoo's classes, nothing that carries code, safe mode).

    ``image_shape``: the shape the caller needs; a preset for another shape is refused in one line.
    """
    from aezoo.inference import load_keras_model

    preset = check(folder)
    if image_shape is not None and tuple(preset.metadata["image_shape"]) != tuple(image_shape):
        raise UsageError(f"{folder}: a preset for {'x'.join(map(str, preset.metadata['image_shape']))} images, "
                         f"not {'x'.join(map(str, image_shape))}")
    # The one loader of every command: the config read as JSON first, only aezoo's classes, no code, safe mode.
    return load_keras_model(folder)


# ----------------------------------------------------------------------------- writing


def save(model_dir: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write a preset from a trained model folder (``RUN/<model>``, with its ``metrics.json``) into ``target``.

    Written into a temporary folder beside ``target`` and renamed into place: a preset appears whole or not at all.
    """
    import keras
    import tensorflow as tf

    from aezoo.inference import load_keras_model
    from aezoo.model_card import write_model_card
    from aezoo.run_folder import METRICS, MODEL_FILE

    model_dir, target = Path(model_dir), Path(target)
    if target.exists() and not is_preset_folder(target) and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target}: exists and is not a preset; a preset is written into a new or empty folder "
                         "(or over an earlier preset)")
    files.check_writable(target, str(target), folder=True)
    metrics = _read(model_dir / METRICS)
    model = load_keras_model(model_dir / MODEL_FILE)
    with files.atomic_directory(target) as tmp:
        write_unzipped(model, tmp)
        sampler_files = [p for p in model_dir.glob("sampler_*") if p.is_file()]
        for sampler in sampler_files:
            shutil.copy2(sampler, tmp / sampler.name)
        keras_metadata = _read(tmp / METADATA)
        metadata = {
            "format": FORMAT, "aezoo_version": __version__, "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__, "model": metrics.get("model"), "family": _family(model),
            "class": type(model).__name__, "image_shape": list(model.image_shape),
            "parameters": metrics.get("parameters"),
            "data": {key: metrics.get(key) for key in ("dataset", "dataset_source", "train_images",
                                                        "validation_images", "test_images")},
            "noise": metrics.get("noise"), "seed": metrics.get("seed"),
            "training": {key: metrics.get(key) for key in ("epochs", "batch_size", "learning_rate", "lr_schedule",
                                                            "kl_warmup_epochs", "settings")},
            "test": metrics.get("test", {}), "generation": _generation(metrics, model_dir),
            "sampler_files": [p.name for p in sampler_files],
            "date": keras_metadata.get("date_saved"), "weights_sha256": sha256(tmp / WEIGHTS),
        }
        files.write_json(tmp / METADATA, metadata)
        # The card from the model folder's records, beside the preset's own files.
        shutil.copy2(write_model_card(model_dir), tmp / CARD)
    return target


def save_from(model_or_run_folder: str | os.PathLike[str], target: str | os.PathLike[str],
              model_kind: str | None = None) -> Path:
    """:func:`save` from a model folder or a run folder (``model_kind`` picks the model)."""
    from aezoo.inference import locate_model

    location = locate_model(model_or_run_folder, model_kind)
    # A model folder holds model.keras and metrics.json (and saved_model/): the records a preset needs.
    model_dir = location.path.parent
    if not (model_dir / "metrics.json").is_file() or not (model_dir / "model.keras").is_file():
        raise UsageError(f"{model_or_run_folder}: a preset is saved from a trained model's folder (RUN/<model>, "
                         "with its model.keras and metrics.json)")
    return save(model_dir, target)


def write_unzipped(model: Any, folder: Path) -> None:
    """``model`` in Keras's unzipped format in ``folder`` (config.json, model.weights.h5, metadata.json).

    Written as a ``.keras`` archive first and then unpacked: Keras writes an archive's weights in
    memory and the file with plain writes, so a full disk is an ordinary ``OSError``; saving
    unzipped directly lets h5py write to disk, and on a full disk it crashed the process
    (a segmentation fault in h5py's clean-up) instead of raising.
    """
    import zipfile

    import keras

    archive = folder / ".model.keras"
    keras.saving.save_model(model, str(archive))
    with zipfile.ZipFile(archive) as unzipped:
        unzipped.extractall(folder)
    archive.unlink()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: not readable JSON ({error})") from None
    return data if isinstance(data, dict) else {}


def _family(model: Any) -> str | None:
    from aezoo.families import family_of

    family = family_of(model)
    return None if family is None else family.name


def _generation(metrics: dict[str, Any], model_dir: Path) -> dict[str, Any]:
    """The generation and latent scores the run measured for the model (FD, NLL, label accuracy, 5-NN)."""
    generation = metrics.get("generation") or {}
    kept = {key: generation.get(key) for key in ("sampler", "frechet_distance", "label_accuracy", "coverage")
            if key in generation}
    if "likelihood" in generation:
        kept["nll"] = generation["likelihood"].get("nll")
    latent = model_dir / "analysis" / "latent_metrics.json"
    if latent.is_file():
        kept["knn_accuracy"] = (_read(latent).get("knn_accuracy") or {}).get("accuracy")
    return kept


# ----------------------------------------------------------------------------- hubs


def cache_root() -> Path:
    return Path(os.environ.get("AEZOO_CACHE") or Path.home() / ".cache" / "aezoo") / "presets"


def download(address: str) -> Path:
    """A hub preset in the local cache, downloaded whole into a temporary folder first, then renamed.

    Raises:
        UsageError: the client package is missing, or the hub cannot be reached (offline).
    """
    scheme, _, handle = address.partition("://")
    target = cache_root() / scheme / handle.replace("/", "--")
    if (target / METADATA).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as scratch:
        try:
            fetched = _fetch(scheme, handle, Path(scratch))
        except UsageError:
            raise
        except ImportError as error:
            raise UsageError(f"{address}: needs the {error.name or 'hub client'} package to reach the hub; "
                             f"pip install {'huggingface_hub' if scheme == 'hf' else 'kagglehub'}") from None
        except Exception as error:  # the clients raise their own types for no network, a missing repo, ...
            raise UsageError(f"{address}: could not be downloaded; fetching a hub preset needs the network "
                             f"({type(error).__name__}: {(str(error).splitlines() or [''])[0][:160]})") from None
        check(fetched)  # before anything lands in the cache
        os.replace(fetched, target)
    return target


def _fetch(scheme: str, handle: str, scratch: Path) -> Path:
    if scheme == "hf":
        import huggingface_hub

        return Path(huggingface_hub.snapshot_download(repo_id=handle, local_dir=scratch / "preset"))
    import kagglehub

    return Path(shutil.copytree(kagglehub.model_download(handle), scratch / "preset"))


def shipped_judges() -> list[Preset]:
    """The sample judges shipped with the package, checked (read without TensorFlow)."""
    return [check(folder) for folder in sorted(JUDGES_FOLDER.glob("*")) if is_preset_folder(folder)]


def iter_presets() -> Iterator[Preset]:
    for folder in shipped().values():
        yield check(folder)


__all__ = ["CARD", "CONFIG", "METADATA", "WEIGHTS", "Preset", "check", "download", "find", "is_hub_address",
           "is_preset_folder", "iter_presets", "load_model", "looks_like_name", "preset_name", "resolve",
           "save", "save_from", "sha256", "shipped", "shipped_judges",
           "write_unzipped"]
