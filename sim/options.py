"""Argument types and the parser class shared by the kd-sim and kd-explorer command lines."""

import argparse
import sys

MAX_SEED = 2**32 - 1


def bounded(kind, low, high, name: str):
    """Return an argparse type that parses `kind` (int or float) and accepts [low, high] only."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {noun}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"invalid {name} {value:g}: choose a value from {low:g} to {high:g}")
        return value

    return parse


def seed(text: str) -> int:
    """Parse a random seed: a whole number from 0 to 2**32 - 1, which NumPy's generators accept."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: expected a whole number from 0 to "
                                         f"{MAX_SEED}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: choose a whole number from 0 to {MAX_SEED}")
    return value


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: what is wrong, then where the options are listed.

    The stock parser prints its whole usage block before the error, which buries the message.
    Subcommand parsers made with add_subparsers() inherit this class.
    """

    def error(self, message: str):
        print(f"{self.prog}: error: {message}; see {self.prog} --help", file=sys.stderr)
        sys.exit(2)
