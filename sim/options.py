"""Argument types and the parser class shared by the kd-sim and kd-explorer command lines."""

import argparse
import sys

MAX_SEED = 2**32 - 1


def bounded(kind, low, high, name: str):
    """Return an argparse type that parses `kind` (int or float) and accepts [low, high] only."""
    noun = "a whole number" if kind is int else "a number"
    # Whole numbers print in full: with "g", a bound such as 2**32 - 1 read 4.29497e+09.
    style = "d" if kind is int else "g"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {name} {text!r}: expected {noun}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"invalid {name} {value:{style}}: choose a value from "
                                             f"{low:{style}} to {high:{style}}")
        return value

    return parse


# A random seed: a whole number NumPy's generators accept.
seed = bounded(int, 0, MAX_SEED, "seed")


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: what is wrong, then where the options are listed.

    The stock parser prints its whole usage block before the error, which buries the message.
    Subcommand parsers made with add_subparsers() inherit this class.
    """

    def error(self, message: str):
        print(f"{self.prog}: error: {message}; see {self.prog} --help", file=sys.stderr)
        sys.exit(2)
