"""Argument types shared by the kd-sim and kd-explorer command lines."""

import argparse


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
