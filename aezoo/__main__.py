"""``python -m aezoo {train, tune, analyze, denoise, encode, models} ...``."""

import sys

from aezoo.commands import main
from aezoo.timing import PhaseTimer

sys.exit(main(timer=PhaseTimer.since_process_start()))
