"""``python -m otel_agentperf.stack export DIR``: the compose stack's files, from this installation, into DIR.

``python -m otel_agentperf.stack paths`` prints where ``deploy/`` and ``grafana/`` are read from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .bundle import StackError, deploy_dir, export, grafana_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m otel_agentperf.stack",
        description="The docker-compose stack (docker-compose.yml, Dockerfile, deploy/, grafana/) of this install.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    out = sub.add_parser("export", help="write docker-compose.yml, a Dockerfile, deploy/ and grafana/ to DIR")
    out.add_argument("dir", metavar="DIR")
    out.add_argument("--force", action="store_true", help="overwrite files that exist")
    sub.add_parser("paths", help="print where deploy/ and grafana/ are read from")
    args = parser.parse_args(argv)
    try:
        if args.command == "paths":
            print(f"deploy  {deploy_dir()}")
            print(f"grafana {grafana_dir()}")
            return 0
        directory = Path(args.dir)
        written = export(directory, force=args.force)
    except StackError as exc:
        print(f"agentperf stack: {exc}", file=sys.stderr)
        return 3
    print(f"wrote {len(written)} files to {directory}")
    print(f"then: cd {directory} && GRAFANA_ADMIN_PASSWORD=choose-one docker compose up -d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
