"""``python -m aezoo.bench folder``: training from a folder of 70,000 image files against the same images as IDX.

Fashion-MNIST (Debian's ``dataset-fashion-mnist``, or Keras's cache) is written out once as a
folder of PNG files, ``train/<class>/*.png`` and ``test/<class>/*.png`` (70,000 files, cached
under ``$AEZOO_CACHE/fashion-mnist-png``). Then ``python train.py`` trains the same model on the
same images three times, each in a child process of its own so that its peak resident memory is
its own:

* ``idx``: the IDX files (``--dataset fashion_mnist``), the reference;
* ``png``: the folder (``--data-dir``), decoded into memory since it fits the memory budget;
* ``png, streamed``: the folder with ``AEZOO_MEMORY_BUDGET=0``, read and decoded from disk by the
  ``tf.data`` pipeline every epoch.

For each: the data phase's seconds, the steady epoch time (the epochs after the first), its ratio
to ``idx``'s, and the peak resident memory. Figures, not a test: the target (within 1.2x the IDX
epoch time, under 2 GiB) is judged in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from aezoo.families import PLAIN_AUTOENCODER

# Judged in the output: the streamed or decoded folder against the IDX files.
TARGET_EPOCH_RATIO = 1.2
TARGET_RSS_MIB = 2048


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m aezoo.bench folder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per variant (default: 2; the first is not steady)")
    parser.add_argument("--model", default=PLAIN_AUTOENCODER,
                        help=f"the model trained (default: {PLAIN_AUTOENCODER})")
    parser.add_argument("--folder", default=None, help="where the PNG folder is written (default: in $AEZOO_CACHE)")
    parser.add_argument("--output", default=None, help="JSON file (default: bench-results/folder-DATE.json)")
    return parser.parse_args(argv)


def png_folder(target: Path | None = None) -> Path:
    """The Fashion-MNIST PNG folder, written once (its files are written atomically; a marker says it is whole)."""
    from PIL import Image

    from aezoo.datasets import load_dataset
    from aezoo.evaluation.classifier import cache_dir

    folder = target or cache_dir().parent / "fashion-mnist-png"
    marker = folder / ".complete"
    if marker.is_file():
        return folder
    splits = load_dataset("fashion_mnist", validation_fraction=0.1)
    parts = {"train": (list(splits.train_images) + list(splits.validation_images),
                       list(splits.train_labels) + list(splits.validation_labels)),
             "test": (list(splits.test_images), list(splits.test_labels))}
    started = time.perf_counter()
    for split, (images, labels) in parts.items():
        for index, (image, label) in enumerate(zip(images, labels)):
            path = folder / split / f"{int(label)}-{splits.class_names[label].replace('/', '-')}" / f"{index:05d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    marker.write_text(f"written in {time.perf_counter() - started:.0f} s\n")
    return folder


def run_variant(name: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """``python train.py ARGS`` in a child; its summary's phases and metrics, and its peak RSS (MiB)."""
    with tempfile.TemporaryDirectory(prefix="aezoo-folder-bench-") as scratch:
        output = Path(scratch) / "run"
        # The train command of the installed package: the same as train.py, from any working folder.
        command = [sys.executable, "-m", "aezoo", "train", *args, "--no-analysis", "--output", str(output)]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        errors = child.stderr.read() if child.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{name}: train.py failed: {errors.strip().splitlines()[-1:]}")
        summary = json.loads((output / "summary.json").read_text())
        model = next(iter(summary["models"].values()))
        history = (next(output.glob("*/history.csv"))).read_text().splitlines()
    phases = {row["phase"]: row["seconds"] for row in summary.get("phases", [])}
    return {"variant": name, "wall_seconds": round(wall, 1), "data_seconds": phases.get("data"),
            "training_seconds": model["training_seconds"], "images_per_second": model["images_per_second"],
            "epochs": len(history) - 1, "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def run(settings: argparse.Namespace) -> dict[str, Any]:
    folder = png_folder(Path(settings.folder) if settings.folder else None)
    common = ["--model", settings.model, "--epochs", str(settings.epochs)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    rows = [run_variant("idx", [*common, "--dataset", "fashion_mnist"], env),
            run_variant("png", [*common, "--data-dir", str(folder)], env),
            run_variant("png, streamed", [*common, "--data-dir", str(folder)], dict(env, AEZOO_MEMORY_BUDGET="0"))]
    reference = rows[0]["images_per_second"]
    for row in rows:
        row["epoch_time_vs_idx"] = round(reference / row["images_per_second"], 2) if row["images_per_second"] else None
    verdicts = []
    for row in rows[1:]:
        ratio_ok = row["epoch_time_vs_idx"] is not None and row["epoch_time_vs_idx"] <= TARGET_EPOCH_RATIO
        memory_ok = row["peak_rss_mib"] < TARGET_RSS_MIB
        verdicts.append(f"{'met' if ratio_ok and memory_ok else 'MISSED'}: {row['variant']} trains within "
                        f"{TARGET_EPOCH_RATIO}x the IDX epoch time ({row['epoch_time_vs_idx']}x) under "
                        f"{TARGET_RSS_MIB} MiB ({row['peak_rss_mib']:.0f} MiB)")
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "folder": str(folder), "files": 70_000, "cpus": os.cpu_count(),
            "model": settings.model, "epochs": settings.epochs, "rows": rows, "targets": verdicts}


def table(results: dict[str, Any]) -> str:
    lines = [f"\n{results['files']:,} PNG files vs IDX, {results['model']}, {results['epochs']} epochs, "
             f"{results['cpus']} CPUs ({results['date']})",
             f"{'variant':<16}{'data s':>8}{'img/s':>9}{'epoch vs idx':>14}{'peak RSS MiB':>14}{'wall s':>8}"]
    for row in results["rows"]:
        lines.append(f"{row['variant']:<16}{row['data_seconds'] or 0:>8.1f}{row['images_per_second'] or 0:>9.0f}"
                     f"{row['epoch_time_vs_idx'] or 0:>13.2f}x{row['peak_rss_mib']:>14.0f}{row['wall_seconds']:>8.1f}")
    return "\n".join([*lines, "", *results["targets"]])


__all__ = ["parse_args", "png_folder", "run", "table"]
