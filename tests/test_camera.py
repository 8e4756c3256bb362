"""The orbit camera: keys, presets, drags and zoom, without a window."""

import pytest
from direct.showbase.MessengerGlobal import messenger
from panda3d.core import NodePath

from game.camera import MAX_DISTANCE, MIN_DISTANCE, CameraRig, View

PRESETS = {
    "overview": View(focus=(0.0, 0.0, 0.0), heading=-10.0, pitch=-10.0, distance=40.0),
    "teacher": View(focus=(-4.0, 0.0, 5.0), heading=-30.0, pitch=-10.0, distance=20.0),
    "student": View(focus=(-4.0, 0.0, -5.0), heading=-30.0, pitch=-5.0, distance=15.0),
    "outputs": View(focus=(12.0, 0.0, 0.0), heading=0.0, pitch=0.0, distance=20.0),
}


@pytest.fixture
def rig():
    camera = NodePath("camera")
    rig = CameraRig(camera, None, PRESETS)
    yield rig
    rig.destroy()


def settle(rig, seconds=3.0, dt=1.0 / 30.0):
    for _ in range(int(seconds / dt)):
        rig.update(dt)


def test_rig_starts_at_overview(rig):
    assert rig.current == PRESETS["overview"]
    assert rig.camera.getPos().length() == pytest.approx(40.0, rel=1e-4)


def test_w_key_moves_forward(rig):
    start = rig.camera.getPos()

    messenger.send("w")
    settle(rig, 0.5)
    messenger.send("w-up")
    settle(rig, 2.0)

    moved = rig.camera.getPos() - start
    forward = rig.camera.getQuat().getForward()
    forward.z = 0
    assert moved.length() > 1.0
    assert moved.dot(forward) > 0
    assert rig.keys == set()


@pytest.mark.parametrize("key, direction", [("e", 1), ("q", -1)])
def test_e_and_q_move_up_and_down(rig, key, direction):
    start_z = rig.camera.getZ()

    messenger.send(key)
    settle(rig, 0.5)
    messenger.send(f"{key}-up")

    assert (rig.camera.getZ() - start_z) * direction > 0.5


@pytest.mark.parametrize("key, name", [("1", "overview"), ("2", "teacher"), ("3", "student"), ("4", "outputs")])
def test_number_keys_jump_to_presets(rig, key, name):
    messenger.send("2" if key != "2" else "3")
    settle(rig)

    messenger.send(key)
    settle(rig)

    assert rig.goal == PRESETS[name]
    assert rig.current.distance == pytest.approx(PRESETS[name].distance, rel=1e-3)
    assert rig.current.heading == pytest.approx(PRESETS[name].heading, abs=0.05)


def test_motion_is_smooth(rig):
    messenger.send("4")
    rig.update(1.0 / 60.0)

    # One frame covers only part of the way.
    assert PRESETS["overview"].distance > rig.current.distance > PRESETS["outputs"].distance


def test_home_resets_view(rig):
    rig.orbit(0.5, 0.2)
    rig.zoom(0.5)
    settle(rig)

    messenger.send("home")
    settle(rig)

    assert rig.goal == PRESETS["overview"]
    assert rig.current.heading == pytest.approx(-10.0, abs=0.05)


def test_zoom_is_clamped(rig):
    for _ in range(100):
        rig.zoom(0.5)
    assert rig.goal.distance == MIN_DISTANCE

    for _ in range(100):
        rig.zoom(2.0)
    assert rig.goal.distance == MAX_DISTANCE


def test_orbit_and_pan_change_goal(rig):
    rig.orbit(0.2, 0.0)
    assert rig.goal.heading < PRESETS["overview"].heading

    rig.pan(0.1, 0.0)
    assert rig.goal.focus != PRESETS["overview"].focus


def test_pitch_is_clamped(rig):
    rig.orbit(0.0, 10.0)
    assert rig.goal.pitch <= 85.0


def test_click_filter_blocks_drag(rig):
    rig.click_filters.append(lambda button: True)

    rig.press("left", "orbit")

    assert rig.drag_mode is None


def test_destroy_ignores_events(rig):
    rig.destroy()
    messenger.send("4")

    assert rig.goal == PRESETS["overview"]
    assert not messenger.isAccepting("4", rig.events)
