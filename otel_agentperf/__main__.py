"""``python -m otel_agentperf demo``."""

import sys

from .cli.main import main

sys.exit(main())
