"""``python -m aezoo {train, tune, analyze, denoise, encode, models} ...``."""

import sys

from aezoo.commands import main

sys.exit(main())
