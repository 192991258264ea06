"""``python -m aezoo.bench``: run the benchmark, print the tables and write the JSON."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402

from aezoo import files  # noqa: E402
from aezoo.commands import flags  # noqa: E402
from aezoo.bench.runner import (  # noqa: E402
    ALL_KINDS, DEFAULT_KINDS, TEXTBOOK_BATCH_SIZE, BenchSettings, parse_overrides, run_benchmark,
)
from aezoo.errors import UsageError  # noqa: E402
from aezoo.families import GROUPS, PLAIN_AUTOENCODER  # noqa: E402

# The models whose settings --KIND-override changes: train.py's default pair.
OVERRIDDEN = GROUPS["both"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m aezoo.bench", description=__doc__)
    parser.add_argument("--models", default=",".join(DEFAULT_KINDS),
                        help=f"comma-separated, from {', '.join(ALL_KINDS)}, or the groups both and all "
                             f"(default: {','.join(DEFAULT_KINDS)})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every model (default: TrainConfig's, what train.py uses)")
    parser.add_argument("--batch-size", type=int, default=TEXTBOOK_BATCH_SIZE,
                        help="batch size of the references; aezoo's models use train.py's default")
    for kind in OVERRIDDEN:
        parser.add_argument(f"--{kind}-override", default="", metavar="K=V,...",
                            help=f"benchmark aezoo's {kind} with these TrainConfig fields / model arguments / "
                                 "bench options changed, e.g. batch_size=32,batch_norm=true,lr_schedule=cosine")
    parser.add_argument("--candidate", action="append", default=[], metavar="LABEL:K=V,...",
                        help=f"an extra aezoo model (kind={PLAIN_AUTOENCODER} unless kind=NAME) trained alongside; "
                             "repeatable")
    parser.add_argument("--output", default=None, help="JSON file (default: bench-results/bench-DATE.json)")
    parser.add_argument("--quick", action="store_true", help="tiny run (1 epoch, a few hundred images): checks, not figures")
    parser.add_argument("--no-parity", action="store_true", help="skip the same-batch-size throughput comparison")
    parser.add_argument("--no-serving", action="store_true", help="skip SavedModel export and serving measurements")
    parser.add_argument("--intra-threads", type=int, default=None, help="TensorFlow intra-op threads (default: all cores)")
    parser.add_argument("--inter-threads", type=int, default=None, help="TensorFlow inter-op threads")
    parser.add_argument("--seed", type=int, default=None, help="default: TrainConfig's")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch log lines")
    flags.add_noise_arguments(parser, default=None, default_text=f"train.py's, {flags.NOISE_KINDS[0]}",
                              purpose="the corruption every model trains and is scored on")
    return parser.parse_args(argv)


def _noise_settings(args: argparse.Namespace) -> dict[str, Any]:
    kind, strength = flags.noise_from_args(args)
    chosen = {name: value for name, value in (("noise", kind), ("noise_strength", strength)) if value is not None}
    if chosen and not {"noise", "noise_strength"} <= {f.name for f in dataclasses.fields(BenchSettings)}:
        raise UsageError("--noise and --noise-strength need a benchmark runner that takes them; this one "
                         "scores every model on train.py's default noise")
    return chosen


def settings_from_args(args: argparse.Namespace) -> BenchSettings:
    candidates = {}
    for text in args.candidate:
        label, sep, rest = text.partition(":")
        if not sep or not label:
            raise UsageError(f"--candidate {text!r}: expected LABEL:K=V,...")
        candidates[label] = parse_overrides(rest)
    overrides = {kind: parse_overrides(text) for kind in OVERRIDDEN if (text := getattr(args, f"{kind}_override"))}
    return BenchSettings(models=tuple(m.strip() for m in args.models.split(",") if m.strip()), epochs=args.epochs,
                         batch_size=args.batch_size, overrides=overrides, candidates=candidates, quick=args.quick,
                         parity=not args.no_parity, serving=not args.no_serving, intra_threads=args.intra_threads,
                         inter_threads=args.inter_threads, seed=args.seed, **_noise_settings(args))


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_tables(results: dict[str, Any]) -> str:
    """The console report: results, ratios, per-epoch PSNR and throughput parity (targets: bench/README.md)."""
    s, m = results["settings"], results["machine"]
    lines = [f"\naezoo benchmark {results['date']}  {m['cpus']} CPUs  load {m['load_average_start']} -> "
             f"{m['load_average_end']}  TF {m['tensorflow']} Keras {m['keras']}",
             f"data: {s['dataset']}; scored on the {s.get('scored_on', 'validation')} split; "
             f"noise {s['noise']['kind']} {s['noise']['strength']}; seed {s['seed']}", ""]
    head = (f"{'model':12}{'params':>9}{'batch':>6}{'ep':>4}{'train s':>9}{'img/s':>8}{'PSNR':>7}{'SSIM':>7}"
            f"{'s->tb':>7}{'srv b1/s':>10}{'srv b1024/s':>12}{'train MB':>9}{'+MB':>6}{'serve MB':>9}{'+MB':>6}")
    lines += [head, "-" * len(head)]
    for name, b in results["baselines"].items():
        lines.append(f"{name:12}{'':9}{'':6}{'':4}{'':9}{'':8}{b['psnr']:>7.2f}{b['ssim']:>7.3f}")
    for name, r in results["models"].items():
        srv = r.get("serving", {})
        lines.append(f"{name:12}{r['parameters']:>9,}{r['batch_size']:>6}{r['epochs']:>4}{r['training_seconds']:>9.1f}"
                     f"{r['images_per_second']:>8.0f}{r['validation']['psnr']:>7.2f}{r['validation']['ssim']:>7.3f}"
                     f"{_fmt(r.get('seconds_to_textbook_psnr'), '.1f'):>7}"
                     f"{_fmt(srv.get('batch1_images_per_second'), '.0f'):>10}"
                     f"{_fmt(srv.get('batch1024_images_per_second'), '.0f'):>12}"
                     f"{r['train_peak_rss_mb']:>9.0f}{r['train_first_epoch_rss_growth_mb']:>6.0f}{_fmt(srv.get('peak_rss_mb'), '.0f'):>9}"
                     f"{_fmt(srv.get('serving_rss_growth_mb'), '.0f'):>6}")
    lines += ["", "PSNR/SSIM on the validation split; s->tb: training seconds to the textbook AE's final PSNR (epoch-granular); "
              "train MB: peak RSS of the shared process in that model's epochs, +MB: its growth in the model's first epoch; serve MB: peak of a fresh process serving it, +MB: its growth over 'import tensorflow'", ""]
    head = (f"{'vs references':12}{'train time':>11}{'img/s':>8}{'to tb PSNR':>11}{'dPSNR tb':>9}{'dPSNR kio':>10}"
            f"{'srv b1':>8}{'srv b1024':>10}")
    lines += [head, "-" * len(head)]
    for name, r in results["ratios"].items():
        lines.append(f"{name:12}{_fmt(r.get('training_seconds_vs_textbook'), '.2f'):>10}x"
                     f"{_fmt(r.get('images_per_second_vs_textbook'), '.2f'):>7}x"
                     f"{_fmt(r.get('seconds_to_textbook_psnr_vs_textbook_training'), '.2f'):>10}x"
                     f"{_fmt(r.get('psnr_minus_textbook_db'), '+.2f'):>9}{_fmt(r.get('psnr_minus_kerasio_db'), '+.2f'):>10}"
                     f"{_fmt(r.get('serving_batch1_images_per_second_vs_textbook'), '.2f'):>7}x"
                     f"{_fmt(r.get('serving_batch1024_images_per_second_vs_textbook'), '.2f'):>9}x")
    lines += ["", "validation PSNR after each epoch (dB) / cumulative training seconds"]
    for name, r in results["models"].items():
        log = r["epochs_log"]
        lines.append(f"{name:12}" + " ".join(f"{e['psnr']:5.2f}" for e in log))
        lines.append(f"{'':12}" + " ".join(f"{e['cumulative_seconds']:5.1f}" for e in log))
    if results["parity"]:
        lines += ["", "same batch size, same layers (aezoo ConvAutoencoder built as the textbook's twin), "
                  "steady images/s", f"{'batch':>6}{'textbook':>10}{'aezoo':>8}{'ratio':>7}{'pipeline':>10}{'pipe/aezoo':>11}"]
        for row in results["parity"]:
            lines.append(f"{row['batch_size']:>6}{row['textbook_images_per_second']:>10.0f}"
                         f"{row['aezoo_twin_images_per_second']:>8.0f}{row['aezoo_over_textbook']:>6.2f}x"
                         f"{row['pipeline_images_per_second']:>10.0f}{row['pipeline_over_aezoo_twin']:>10.1f}x")
    return "\n".join(lines)


def zoo_main(argv: Sequence[str]) -> int:
    """``python -m aezoo.bench zoo``: train and score the zoo, print the table, write JSON, table and plot."""
    from aezoo.bench import zoo

    args = zoo.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("aezoo", "aezoo.bench"):
        logging.getLogger(name).setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        settings = zoo.settings_from_args(args)
        output = Path(args.output or f"bench-results/zoo-{datetime.now():%Y%m%d-%H%M%S}")
        if output.exists() and not output.is_dir():
            raise UsageError(f"--output {output} exists and is not a folder")
        results = zoo.run_zoo(settings)
    except UsageError as error:
        print(f"python -m aezoo.bench zoo: error: {error}", file=sys.stderr)
        return 2
    paths = zoo.write_outputs(results, output)
    print(zoo.markdown_table(results))
    print("\n" + "  ".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def folder_main(argv: Sequence[str]) -> int:
    """``python -m aezoo.bench folder``: 70,000 PNG files against the same images as IDX (aezoo/bench/folder.py)."""
    from aezoo.bench import folder

    args = folder.parse_args(argv)
    try:
        results = folder.run(args)
    except (UsageError, RuntimeError) as error:
        print(f"python -m aezoo.bench folder: error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output or f"bench-results/folder-{datetime.now():%Y%m%d-%H%M%S}.json")
    files.write_json(output, results)
    print(folder.table(results))
    print(f"\nJSON: {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["zoo"]:  # the zoo leaderboard (aezoo/bench/zoo.py) has its own flags
        return zoo_main(argv[1:])
    if argv[:1] == ["folder"]:  # image files against IDX (aezoo/bench/folder.py)
        return folder_main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("aezoo").setLevel(logging.WARNING if args.quiet else logging.INFO)
    # TensorFlow's notes (SavedModel assets, a retracing warning that counts every model's
    # first trace together) would bury the per-epoch lines.
    import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)
    try:
        settings = settings_from_args(args)
        results = run_benchmark(settings)
    except UsageError as error:
        print(f"python -m aezoo.bench: error: {error}", file=sys.stderr)
        return 2
    output = Path(args.output or f"bench-results/bench-{datetime.now():%Y%m%d-%H%M%S}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(output, results)
    print(format_tables(results))
    print(f"\nJSON: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
