"""The `fangpin` command. Each subcommand lives in fangpin.commands.<name>."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under fangpin.commands that register subcommands, in the order help lists them.
COMMAND_MODULES = ("policy", "settle", "manage")

EXIT_OK, EXIT_REJECTS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in how the command was called; printed and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fangpin",
        description="fangpin (防贫): medical-security work against illness-caused poverty.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"fangpin.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"fangpin {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
