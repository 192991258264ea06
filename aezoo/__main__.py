"""``python -m aezoo {train, ...}``."""

import sys

from aezoo.commands import main

sys.exit(main())
