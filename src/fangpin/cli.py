"""The `fangpin` command. Each subcommand lives in fangpin.commands.<name>."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import fangpin.commands

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
    # Every module of fangpin.commands registers its own subcommands.
    for info in sorted(pkgutil.iter_modules(fangpin.commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"fangpin.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        print(f"fangpin {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); say nothing more.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
