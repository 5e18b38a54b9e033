"""The ``agents-hub-monitoring`` command: ``demo``, ``doctor`` and ``version``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agents_hub_monitoring._version import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agents-hub-monitoring",
                                     description="OpenTelemetry-based monitoring for LLM agents.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the offline scripted agent and print traces and a summary")
    demo.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    from agents_hub_monitoring import doctor

    doctor.add_arguments(commands.add_parser("doctor", help="check the Langfuse settings, host and keys"))
    commands.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "version":
        print(__version__)
        return 0
    if arguments.command == "demo":
        from agents_hub_monitoring.demo import run_demo

        return run_demo(use_rich=False if arguments.plain else None)
    from agents_hub_monitoring.doctor import run_from_args

    return run_from_args(arguments)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
