"""List the zoo's model families: the idea of each, what it can do, and its default arguments.

Capabilities decide what the rest of aezoo does with a model: a latent space gives it encode and
decode (and the latent-space analysis), a generative model can sample new digits, and a model
that needs labels is fed (images, labels).
"""

from __future__ import annotations

import argparse
from typing import Any

CAPABILITIES = ("has_latent_space", "is_generative", "needs_labels")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", metavar="FAMILY", nargs="*",
                        help="families to describe (default: all); a comma list, both or all work too")


def describe(family: Any) -> str:
    """A few lines about one family: idea, class, capabilities, preset and constructor defaults."""
    can = [name for name in CAPABILITIES if getattr(family, name)]
    defaults = family.defaults()  # imports the model class, and so TensorFlow
    arguments = ", ".join(f"{name}={value!r}" for name, value in defaults.items() if name != "name")
    lines = [f"{family.name}: {family.description}",
             f"  class:        {family.class_path.replace(':', '.')}",
             f"  capabilities: {', '.join(can) if can else 'none (denoising only)'}"]
    if family.preset:
        lines.append("  preset:       " + ", ".join(f"{k}={v!r}" for k, v in family.preset.items()))
    lines.append(f"  defaults:     {arguments}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from aezoo.errors import UsageError
    from aezoo.models.families import FAMILIES, parse_model_list

    try:
        names = parse_model_list(",".join(args.names)) if args.names else tuple(FAMILIES)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print("\n\n".join(describe(FAMILIES[name]) for name in names))
    return 0
