"""Retraining the shipped presets: ``python -m aezoo presets --rebuild [NAMES]``.

Kept apart from :mod:`aezoo.presets` (reading, checking, saving) because it trains and analyses,
so it sits above training and the analysis; loading a preset needs neither.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from aezoo.errors import UsageError
from aezoo.presets import FAMILIES_FOLDER, PRESET_SUFFIX, check, preset_name, save, shipped

JUDGE = "judge"  # the sample judge of the embedded digits (aezoo/evaluation/judges/)


def rebuild(names: list[str] | tuple[str, ...] = (), families_folder: Path | None = None,
            judges_folder: Path | None = None) -> dict[str, Path]:
    """Retrain presets with the settings their metadata records (default: ``train.py``'s on the
    embedded digits) and rewrite them in their family's folder; no names: the sample judge and one
    preset per model of the zoo. The same seed on a CPU gives the same weights. ``families_folder``
    and ``judges_folder``: write there instead of into the package (a test compares the weights)."""
    from aezoo.analysis import analyze_run
    from aezoo.config import TrainConfig
    from aezoo.families import MODELS
    from aezoo.training import train

    wanted = list(names) or [JUDGE] + [preset_name(model) for model in MODELS]
    models = {}
    for name in wanted:
        model = name[:-len(PRESET_SUFFIX)] if name.endswith(PRESET_SUFFIX) else ""
        if name != JUDGE and model not in MODELS:
            raise UsageError(f"{name!r}: a shipped preset is {JUDGE!r} or <model>{PRESET_SUFFIX}, with a model of "
                             f"{', '.join(MODELS)}")
        models[name] = model
    written = {}
    if JUDGE in models:
        from aezoo.datasets import load_dataset
        from aezoo.evaluation.classifier import ship_classifier

        written[JUDGE] = ship_classifier(load_dataset("embedded"), **({"directory": judges_folder} if judges_folder
                                                                        else {}))
    for name, model in models.items():
        if name == JUDGE:
            continue
        recorded = shipped().get(name)
        settings = (check(recorded).metadata.get("training", {}).get("settings") if recorded else None) or {}
        config = TrainConfig.from_json({"dataset": "embedded"} | settings | {"models": [model]})
        with tempfile.TemporaryDirectory(prefix="aezoo-preset-") as scratch:
            result = train(config, output=Path(scratch) / "run", verbose=0)
            analyze_run(result.run_dir, models=result.models, splits=result.splits)
            target = (families_folder or FAMILIES_FOLDER) / MODELS[model].family.name / "presets" / name
            written[name] = save(result.run_dir / model, target)
    return written


__all__ = ["JUDGE", "rebuild"]
