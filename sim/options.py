"""Argument types shared by the kd-sim and kd-explorer command lines."""

import argparse

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
