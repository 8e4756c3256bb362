"""An orbit camera: drag to orbit or pan, wheel to zoom, keys to move and to jump to views.

The rig keeps a goal (focus point, heading, pitch, distance) and eases the camera toward it
every frame, so every move and every preset jump is smooth.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

from direct.showbase.DirectObject import DirectObject
from panda3d.core import NodePath, Point3, Quat, Vec3

log = logging.getLogger(__name__)

ORBIT_DEGREES_PER_SCREEN = 220.0
PAN_PER_SCREEN = 1.1  # focus moves this many times the viewing distance per screen width
ZOOM_STEP = 0.88      # distance factor per wheel notch
MOVE_SPEED = 0.6      # focus speed with the keys, in viewing distances per second
LIFT_SPEED = 0.45
EASE_RATE = 7.0       # 1/s; higher reaches the goal faster
MIN_DISTANCE, MAX_DISTANCE = 4.0, 160.0
MIN_PITCH, MAX_PITCH = -85.0, 85.0

MOVE_KEYS = {
    "w": "forward", "arrow_up": "forward",
    "s": "back", "arrow_down": "back",
    "a": "left", "arrow_left": "left",
    "d": "right", "arrow_right": "right",
    "e": "up", "q": "down",
}


@dataclass(frozen=True)
class View:
    """A camera pose as the point looked at, heading and pitch in degrees, and distance."""

    focus: tuple[float, float, float]
    heading: float
    pitch: float
    distance: float


class CameraRig:
    """Moves `camera` from mouse and keyboard events; call update(dt) once per frame.

    `presets` maps a name to a View; the first four are bound to keys 1-4 in order, and
    "overview" is the Home view. `mouse_watcher` is the window's MouseWatcher, used to read the
    pointer and to leave clicks on GUI widgets to the GUI.
    """

    def __init__(self, camera: NodePath, mouse_watcher, presets: dict[str, View]):
        self.camera = camera
        self.mouse_watcher = mouse_watcher
        self.presets = dict(presets)
        self.home = self.presets.get("overview", next(iter(self.presets.values())))
        self.goal = self.home
        self.current = self.home
        self.keys: set[str] = set()
        self.drag_mode: str | None = None
        self.drag_from: tuple[float, float] | None = None
        # Callables taking the button ("left", "right" or "middle"). A press that any of them
        # takes (returns True for) starts no drag.
        self.click_filters: list = []

        self.events = DirectObject()
        self._bind()
        self._apply(self.current)

    # --- input ------------------------------------------------------------------------------

    def _bind(self) -> None:
        accept = self.events.accept
        accept("mouse1", self.press, ["left", "orbit"])
        accept("mouse3", self.press, ["right", "pan"])
        accept("mouse2", self.press, ["middle", "pan"])
        for button in ("mouse1-up", "mouse2-up", "mouse3-up"):
            accept(button, self.end_drag)
        accept("wheel_up", self.zoom, [ZOOM_STEP])
        accept("wheel_down", self.zoom, [1.0 / ZOOM_STEP])
        for key, direction in MOVE_KEYS.items():
            accept(key, self.keys.add, [direction])
            accept(f"{key}-up", self.keys.discard, [direction])
        for number, name in enumerate(list(self.presets)[:4], start=1):
            accept(str(number), self.go_to, [name])
        accept("home", self.reset)

    def pointer(self) -> tuple[float, float] | None:
        """Return the mouse position in [-1, 1] window coordinates, or None if outside."""
        if self.mouse_watcher is None or not self.mouse_watcher.hasMouse():
            return None
        return self.mouse_watcher.getMouseX(), self.mouse_watcher.getMouseY()

    def pointer_over_gui(self) -> bool:
        """Return whether the pointer is over a DirectGUI widget (each is a MouseWatcher region)."""
        return self.mouse_watcher is not None and self.mouse_watcher.isOverRegion()

    def press(self, button: str, mode: str) -> None:
        """Start a drag for a mouse press, unless a click filter or a GUI widget takes it."""
        if any(taken(button) for taken in self.click_filters):
            return
        self.begin_drag(mode)

    def begin_drag(self, mode: str) -> None:
        position = self.pointer()
        if position is None or self.pointer_over_gui():
            return
        self.drag_mode = mode
        self.drag_from = position

    def end_drag(self) -> None:
        self.drag_mode = None
        self.drag_from = None

    def zoom(self, factor: float) -> None:
        if self.pointer_over_gui():
            return
        distance = min(max(self.goal.distance * factor, MIN_DISTANCE), MAX_DISTANCE)
        self.goal = replace(self.goal, distance=distance)

    def orbit(self, dx: float, dy: float) -> None:
        """Turn around the focus by a pointer motion of (dx, dy) in window units."""
        heading = self.goal.heading - dx * ORBIT_DEGREES_PER_SCREEN / 2.0
        pitch = self.goal.pitch + dy * ORBIT_DEGREES_PER_SCREEN / 2.0
        self.goal = replace(self.goal, heading=heading, pitch=min(max(pitch, MIN_PITCH), MAX_PITCH))

    def pan(self, dx: float, dy: float) -> None:
        """Slide the focus in the view plane by a pointer motion of (dx, dy) in window units."""
        right, up = self._axes(self.goal, flat=False)[1:]
        scale = PAN_PER_SCREEN * self.goal.distance / 2.0
        shift = right * (-dx * scale) + up * (-dy * scale)
        self.goal = replace(self.goal, focus=tuple(Point3(*self.goal.focus) + shift))

    def move(self, forward: float, right: float, up: float) -> None:
        """Move the focus along the ground-projected view axes, in world units."""
        ahead, side = self._axes(self.goal, flat=True)[:2]
        shift = ahead * forward + side * right + Vec3(0, 0, up)
        self.goal = replace(self.goal, focus=tuple(Point3(*self.goal.focus) + shift))

    def go_to(self, name: str) -> None:
        self.goal = self.presets[name]
        log.debug("camera view %s", name)

    def reset(self) -> None:
        self.goal = self.home

    def snap(self) -> None:
        """Jump straight to the goal with no easing."""
        self.current = self.goal
        self._apply(self.current)

    # --- per frame --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        self._follow_drag()
        self._follow_keys(dt)

        ease = 1.0 - math.exp(-EASE_RATE * max(dt, 0.0))
        current, goal = self.current, self.goal
        focus = tuple(c + (g - c) * ease for c, g in zip(current.focus, goal.focus))
        self.current = View(
            focus=focus,
            heading=current.heading + (goal.heading - current.heading) * ease,
            pitch=current.pitch + (goal.pitch - current.pitch) * ease,
            distance=current.distance * (goal.distance / current.distance) ** ease,
        )
        self._apply(self.current)

    def _follow_drag(self) -> None:
        if self.drag_mode is None:
            return
        position = self.pointer()
        if position is None:
            return
        dx, dy = position[0] - self.drag_from[0], position[1] - self.drag_from[1]
        self.drag_from = position
        if self.drag_mode == "orbit":
            self.orbit(dx, dy)
        else:
            self.pan(dx, dy)

    def _follow_keys(self, dt: float) -> None:
        if not self.keys:
            return
        step = MOVE_SPEED * self.goal.distance * dt
        forward = step * (("forward" in self.keys) - ("back" in self.keys))
        right = step * (("right" in self.keys) - ("left" in self.keys))
        up = LIFT_SPEED * self.goal.distance * dt * (("up" in self.keys) - ("down" in self.keys))
        self.move(forward, right, up)

    @staticmethod
    def _axes(view: View, flat: bool) -> tuple[Vec3, Vec3, Vec3]:
        """Return the view's (forward, right, up) unit vectors; `flat` drops the pitch."""
        rotation = Quat()
        rotation.setHpr((view.heading, 0.0 if flat else view.pitch, 0.0))
        return rotation.getForward(), rotation.getRight(), rotation.getUp()

    def _apply(self, view: View) -> None:
        forward = self._axes(view, flat=False)[0]
        focus = Point3(*view.focus)
        self.camera.setPos(focus - forward * view.distance)
        self.camera.setHpr(view.heading, view.pitch, 0.0)

    def destroy(self) -> None:
        self.events.ignoreAll()
        self.click_filters.clear()
        self.keys.clear()
        self.end_drag()
