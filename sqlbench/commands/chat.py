"""(not implemented yet)"""

from __future__ import annotations

import argparse

from sqlbench.errors import SqlbenchError


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise SqlbenchError("this command is not implemented yet")
