"""Shared fixtures: the digits split, the shipped teacher and an offscreen Panda3D window."""

import pytest

from sim.data import load_split
from sim.model import load_teacher


@pytest.fixture(scope="session")
def split():
    return load_split()


@pytest.fixture(scope="session")
def teacher():
    return load_teacher()
