"""List the zoo's model families: the idea of each, what it can do, and its default arguments.

Capabilities decide what the rest of aezoo does with a model: a latent space gives it encode and
decode (and the latent-space analysis), a generative model can sample new digits, and a model
that needs labels is fed (images, labels).
"""

from __future__ import annotations

import argparse
from typing import Any



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", metavar="FAMILY", nargs="*",
                        help="families to describe (default: all); a comma list, both or all work too")


def describe(spec: Any) -> str:
    """A few lines about one model name: idea, class, capabilities, preset and constructor defaults."""
    from aezoo.models.capabilities import describe as capability_text
    from aezoo.samplers import samplers_for

    arguments = ", ".join(f"{name}={value!r}" for name, value in spec.defaults().items())
    family = spec.family
    lines = [f"{spec.name}: {spec.summary}",
             f"  class:        {family.model.replace(':', '.')}",
             f"  capabilities: {capability_text(spec.capabilities)}",  # imports the class, and TensorFlow
             f"  samplers:     {', '.join(samplers_for(spec.model_class)) or 'none'}"
             + (f" (default {family.default_sampler})" if family.default_sampler else ""),
             f"  paper:        {family.paper}"]
    if spec.preset:
        lines.append(f"  preset of {family.name}: " + ", ".join(f"{k}={v!r}" for k, v in spec.arguments.items()))
    lines.append(f"  defaults:     {arguments}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from aezoo.errors import UsageError
    from aezoo.families import MODELS, parse_model_list

    try:
        names = parse_model_list(",".join(args.names)) if args.names else tuple(MODELS)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print("\n\n".join(describe(MODELS[name]) for name in names))
    return 0
