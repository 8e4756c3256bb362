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


@pytest.fixture
def lab(teacher, split):
    """A fresh Lab on the shipped teacher and digits."""
    from sim.lab import Lab

    return Lab(teacher=teacher, split=split)


@pytest.fixture
def panda_base():
    """An offscreen 640x360 ShowBase on the software renderer, destroyed after the test.

    Only one ShowBase may exist per process at a time, so tests that use this never overlap.
    """
    from panda3d.core import loadPrcFileData

    loadPrcFileData(
        "kd-test",
        "load-display p3tinydisplay\nwindow-type offscreen\nwin-size 640 360\n"
        "audio-library-name null\nsync-video false\n",
    )
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType="offscreen")
    yield base
    base.destroy()


@pytest.fixture
def explorer(panda_base, lab):
    """The explorer drawing into the offscreen test window, without bloom; destroyed after."""
    from game.app import ExplorerApp, ExplorerSettings

    app = ExplorerApp(ExplorerSettings(size=(640, 360), offscreen=True, bloom=False),
                      base=panda_base, lab=lab, owns_base=False)
    app.step_frames(2, 1.0 / 30.0)
    yield app
    app.destroy()


@pytest.fixture
def watcher(explorer):
    """A MouseWatcher on aspect2d, which the offscreen test window lacks, after one more frame."""
    from panda3d.core import MouseWatcher

    mouse = MouseWatcher("test-mouse")
    explorer.base.aspect2d.node().setMouseWatcher(mouse)
    explorer.step_frames(1)
    return mouse
