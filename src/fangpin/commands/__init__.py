"""Subcommands of `fangpin`; each module has register(subparsers)."""
