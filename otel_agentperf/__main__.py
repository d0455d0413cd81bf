"""``python -m otel_agentperf demo``."""

import sys

from ._cli import main

sys.exit(main())
