"""List the trained presets that ship with aezoo, or retrain them.

A preset is a trained model by name (``vae_mnist``): every command that takes a model takes a
preset name too, and ``aezoo.load("vae_mnist")`` loads it. ``--rebuild`` retrains presets with the
settings their metadata records (the same seed on a CPU gives the same weights) and rewrites them
in their family's folder; with no names it builds one ``<model>_mnist`` preset per model of the
zoo with ``python train.py``'s defaults on the embedded digits.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rebuild", nargs="*", metavar="NAME", default=None,
                        help="retrain these presets (none named: one per model of the zoo) and rewrite them")


def run(args: argparse.Namespace) -> int:
    if args.rebuild is not None:
        from aezoo.preset_training import rebuild

        for name, path in rebuild(args.rebuild).items():
            print(f"{name}: rewritten in {path}")
        return 0
    from aezoo.presets import iter_presets, shipped_judges

    presets = list(iter_presets())
    if not presets:
        print("no presets are shipped with this installation (python -m aezoo presets --rebuild builds them)")
        return 0
    print(f"{'name':<16}{'family':<10}{'data':<10}{'shape':<9}{'test PSNR':>10}{'FD':>8}{'params':>10}{'size KiB':>10}")
    for row in (preset.row() for preset in presets):
        fd = f"{row['fd']:.1f}" if row["fd"] is not None else "-"
        psnr = f"{row['test_psnr']:.2f}" if row["test_psnr"] is not None else "-"
        print(f"{row['name']:<16}{row['family']:<10}{row['data'] or '-':<10}{row['image_shape']:<9}{psnr:>10}{fd:>8}"
              f"{row['parameters'] or 0:>10,}{row['size_bytes'] / 1024:>10.0f}")
    judges = shipped_judges()
    for judge in judges:
        print(f"sample judge {judge.name}: {judge.metadata['data']['dataset']}, "
              f"{100 * judge.metadata['test']['accuracy']:.1f}% test accuracy, {judge.size_bytes / 1024:.0f} KiB")
    total = sum(preset.size_bytes for preset in [*presets, *judges])
    print(f"{len(presets)} presets and {len(judges)} judge: {total / 2**20:.1f} MiB")
    return 0
