"""The explorer app on the offscreen software renderer: wiring, controls, keys and teardown."""

import os
import subprocess
import sys

import numpy as np
import pytest
from panda3d.core import Point3

from game import app as app_module
from game.app import CAMERA_PRESETS, FRAME_TASK, ExplorerSettings
from game.panels import ACCURACY_BOX


def frame_pixels(app) -> np.ndarray:
    """Return the last rendered frame as (height, width, 3) uint8."""
    app.base.graphicsEngine.renderFrame()
    texture = app.base.win.getScreenshot()
    data = np.frombuffer(texture.getRamImageAs("RGB"), dtype=np.uint8)
    return data.reshape(texture.getYSize(), texture.getXSize(), 3)


def press(button):
    button["command"](*button["extraArgs"])


def test_views_match_layer_sizes(explorer):
    lab = explorer.lab

    assert explorer.teacher_view.sizes == lab.teacher.sizes
    assert explorer.student_view.sizes == lab.student.sizes
    assert explorer.teacher_view.n_neurons == sum(lab.teacher.sizes) == 394
    assert explorer.student_view.n_neurons == sum(lab.student.sizes) == 90
    assert explorer.teacher_view.edges.geom.getVertexData().getNumRows() == 2 * 33_408
    assert explorer.student_view.edges.geom.getVertexData().getNumRows() == 2 * 1_184


def test_titles_show_parameter_counts(explorer):
    texts = [node.node().getText() for node in explorer.scene.root.findAllMatches("**/+TextNode")]

    assert any("Teacher" in text and "33,738" in text for text in texts)
    assert any("Student" in text and "1,210" in text for text in texts)


def test_slider_sets_temperature(explorer):
    slider = explorer.controls.temperature_slider

    slider["value"] = 12.0
    slider["command"](*slider["extraArgs"])
    explorer.step_frames(2)

    assert explorer.lab.temperature == pytest.approx(12.0)
    assert explorer.lab.distiller.config.temperature == pytest.approx(12.0)
    assert explorer.charts.snapshot.temperature == pytest.approx(12.0)
    assert "12.0" in explorer.controls.text("temperature")


def test_temperature_keys_move_slider(explorer):
    explorer.base.messenger.send("=")

    assert explorer.lab.temperature == pytest.approx(4.0)
    assert float(explorer.controls.temperature_slider["value"]) == pytest.approx(4.0)


def test_temperature_keys_step_to_whole_numbers(explorer):
    explorer.set_temperature(3.5)

    explorer.base.messenger.send("-")
    assert explorer.lab.temperature == pytest.approx(3.0)

    explorer.set_temperature(3.5)
    explorer.base.messenger.send("=")
    assert explorer.lab.temperature == pytest.approx(4.0)


def test_temperature_clamped_to_range(explorer):
    explorer.set_temperature(50.0)

    assert explorer.lab.temperature == 20.0


def test_alpha_slider_sets_alpha(explorer):
    slider = explorer.controls.alpha_slider
    slider["value"] = 0.25
    slider["command"](*slider["extraArgs"])

    assert explorer.lab.alpha == pytest.approx(0.25)


def test_train_button_advances_epochs(explorer):
    explorer.training_budget_s = None
    explorer.set_speed(10.0)

    press(explorer.controls.train_button)
    explorer.step_frames(3, 0.1)

    assert explorer.training
    assert explorer.lab.distiller.epoch == 3
    assert "Epoch 3" in explorer.controls.text("epoch")
    assert explorer.controls.progress_fraction == pytest.approx(3 / 60, abs=0.02)


def test_training_recolours_student_edges(explorer):
    before = explorer.student_view.weight_rgba.copy()
    explorer.training_budget_s = None
    explorer.set_training(True)

    explorer.step_frames(8, 0.1)

    assert not np.array_equal(before, explorer.student_view.weight_rgba)


def test_knowledge_flow_while_training(explorer):
    explorer.sparks.clear()
    explorer.set_training(True)
    explorer.step_frames(20, 1.0 / 30.0)

    assert explorer.knowledge_flow.rate > 0
    assert explorer.sparks.n_alive > 0


def test_space_pauses_training(explorer):
    explorer.set_training(True)
    explorer.base.messenger.send("space")

    assert not explorer.training


def test_reset_restores_untrained_student(explorer):
    explorer.training_budget_s = None
    explorer.set_training(True)
    explorer.step_frames(3, 0.2)
    assert explorer.lab.distiller.epoch > 0

    press(explorer.controls.reset_button)

    lab = explorer.lab
    np.testing.assert_array_equal(lab.student.params, lab.distiller.initial_student.params)
    assert lab.distiller.epoch == 0
    assert not explorer.training


def test_camera_key_moves_camera(explorer):
    start = explorer.base.camera.getPos()

    explorer.base.messenger.send("w")
    explorer.step_frames(15)
    explorer.base.messenger.send("w-up")

    assert (explorer.base.camera.getPos() - start).length() > 1.0


def test_preset_key_selects_view(explorer):
    explorer.base.messenger.send("4")
    explorer.step_frames(90, 1.0 / 30.0)

    assert explorer.camera_rig.goal == CAMERA_PRESETS["outputs"]
    assert explorer.camera_rig.current.distance == pytest.approx(CAMERA_PRESETS["outputs"].distance, rel=0.01)


@pytest.mark.parametrize("key, step", [("n", 1), ("]", 1), ("page_down", 1), ("b", -1), ("[", -1), ("page_up", -1)])
def test_sample_keys_change_input(explorer, key, step):
    explorer.base.messenger.send(key)

    assert explorer.lab.sample_index == step % explorer.lab.n_samples
    assert explorer.pulse.active
    assert f"#{explorer.lab.sample_index}" in explorer.input_card.caption.node().getText()


def test_pulse_reaches_outputs_and_charts(explorer):
    explorer.next_sample()
    explorer.sparks.clear()

    explorer.step_frames(70, 1.0 / 30.0)

    assert not explorer.pulse.active
    assert np.all(explorer.teacher_view.layer_reveal == 1)
    assert explorer.sparks.n_alive > 0


def test_help_key_toggles_overlay(explorer):
    assert not explorer.help_shown

    explorer.base.messenger.send("h")
    assert explorer.help_shown

    explorer.base.messenger.send("f1")
    assert not explorer.help_shown


@pytest.mark.parametrize("key, name", [("m", "heatmap"), ("c", "drawpad"), ("x", "experiments")])
def test_help_blocks_overlay_keys(explorer, key, name):
    explorer.base.messenger.send("h")
    explorer.base.messenger.send(key)
    assert not explorer.overlay_shown(name)
    assert explorer.help_shown

    explorer.base.messenger.send("escape")
    assert not explorer.help_shown
    explorer.base.messenger.send(key)
    assert explorer.overlay_shown(name)


def test_help_blocks_race_key(explorer):
    explorer.base.messenger.send("h")
    explorer.base.messenger.send("g")
    assert not explorer.lab.race_enabled

    explorer.base.messenger.send("h")
    explorer.base.messenger.send("g")
    assert explorer.lab.race_enabled


@pytest.mark.parametrize("key", ["+", "shift-="])
def test_plus_key_raises_temperature(explorer, key):
    explorer.set_temperature(3.0)
    explorer.base.messenger.send(key)
    assert explorer.lab.temperature == pytest.approx(4.0)


@pytest.mark.parametrize("key, name", [("m", "heatmap"), ("c", "drawpad"), ("x", "experiments")])
def test_overlay_keys_toggle(explorer, key, name):
    explorer.base.messenger.send(key)
    assert explorer.overlay_shown(name)

    explorer.base.messenger.send("escape")
    assert not explorer.overlay_shown(name)


def test_drawn_digit_reaches_networks(explorer):
    image = np.zeros(64, dtype=np.float32)
    image[[3, 11, 19, 27, 35, 43, 51, 59]] = 1.0

    explorer.lab.set_custom_image(image)
    explorer.step_frames(1)

    assert explorer.input_card.caption.node().getText() == "your drawing"
    np.testing.assert_allclose(explorer.teacher_view.activations[0], image)


def test_race_button_starts_race(explorer):
    press(explorer.controls.overlay_buttons["race"])

    assert explorer.lab.race_enabled


def test_captions_show_live_formula(explorer):
    explorer.captions.show("soft_loss")
    soft, _, _ = explorer.lab.sample_losses()

    text = explorer.captions.label["text"]
    assert "soft loss" in text
    assert "3.0²" in text
    assert f"{soft:.3f}" in text


@pytest.mark.parametrize("topic", ["soft_labels", "temperature", "soft_loss", "hard_loss", "total_loss"])
def test_every_caption_renders(explorer, topic):
    explorer.captions.show(topic)

    assert len(explorer.captions.label["text"]) > 40


def test_frame_not_blank(explorer):
    explorer.step_frames(30, 1.0 / 30.0)

    pixels = frame_pixels(explorer)

    assert pixels.std() > 10
    assert (pixels.max(axis=2) > 128).mean() > 0.01


def test_frame_differs_between_temperatures(explorer):
    explorer.base.messenger.send("4")
    explorer.set_temperature(1.0)
    explorer.step_frames(60, 1.0 / 30.0)
    cold = frame_pixels(explorer).astype(int)

    explorer.set_temperature(20.0)
    explorer.step_frames(60, 1.0 / 30.0)
    hot = frame_pixels(explorer).astype(int)

    assert np.abs(cold - hot).mean() > 0.5


def test_frame_dt_uses_fixed_step(explorer):
    explorer.fixed_dt = 0.25

    assert explorer.frame_dt() == 0.25


def test_screenshot_writes_png(explorer, tmp_path):
    path = tmp_path / "frame.png"

    assert explorer.screenshot(path)
    assert path.stat().st_size > 1000


def test_destroy_removes_task_and_events(explorer):
    base = explorer.base
    explorer.destroy()

    assert not base.taskMgr.hasTaskNamed(FRAME_TASK)
    for event in ("space", "n", "h", "w", "mouse1", "4"):
        assert base.messenger.whoAccepts(event) is None, event
    assert explorer.scene.filters is None
    assert explorer.scene.root.isEmpty()


@pytest.mark.parametrize("renderer, software", [
    ("llvmpipe (LLVM 15.0.6, 256 bits)", True),
    ("softpipe", True),
    ("Software Rasterizer", True),
    ("GDI Generic", True),
    ("TinyGraphicsStateGuardian", True),
    ("NVIDIA GeForce RTX 3060/PCIe/SSE2", False),
    ("AMD Radeon RX 6600 (radeonsi, navi23, LLVM 15.0.6)", False),
    ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)", False),
])
def test_software_renderers_recognised(renderer, software):
    assert app_module.is_software_renderer(renderer) is software


@pytest.mark.parametrize("antialias, renderer, samples", [
    ("auto", "llvmpipe (LLVM 15.0.6, 256 bits)", 0),
    ("auto", "NVIDIA GeForce RTX 3060/PCIe/SSE2", app_module.MULTISAMPLES),
    ("on", "llvmpipe (LLVM 15.0.6, 256 bits)", app_module.MULTISAMPLES),
    ("off", "NVIDIA GeForce RTX 3060/PCIe/SSE2", 0),
])
def test_multisamples_follow_antialias(antialias, renderer, samples):
    assert app_module.multisamples_for(antialias, renderer) == samples


def test_invalid_antialias_rejected():
    with pytest.raises(ValueError, match="antialias 'sometimes' is invalid; use one of auto, on, off"):
        ExplorerSettings(antialias="sometimes")


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (run under xvfb-run)")
@pytest.mark.parametrize("bloom, antialias", [
    (True, "auto"), (True, "on"), (False, "auto"), (False, "on"), (False, "off"),
])
def test_opengl_antialias(bloom, antialias):
    """Multisampling follows --antialias for the real renderer: the bloom scene buffer's, else the window's."""
    samples = "app.scene.multisamples" if bloom else "app.base.win.getFbProperties().getMultisamples()"
    script = (
        "from game.app import ExplorerApp, ExplorerSettings, multisamples_for, renderer_name\n"
        f"app = ExplorerApp(ExplorerSettings(size=(320, 180), bloom={bloom}, antialias={antialias!r}))\n"
        "app.step_frames(2)\n"
        f"print('expected', multisamples_for({antialias!r}, renderer_name(app.base)))\n"
        f"print('samples', {samples})\n"
        "print('mouse', app.base.mouseWatcherNode is not None)\n"
        "app.destroy()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split() for line in result.stdout.splitlines()
                 if line.startswith(("expected", "samples", "mouse")))
    assert lines["samples"] == lines["expected"]
    assert lines["mouse"] == "True"
    if antialias == "on":
        assert lines["samples"] == str(app_module.MULTISAMPLES)


@pytest.mark.parametrize("antialias", ["auto", "on", "off"])
def test_offscreen_window_antialias(antialias):
    """Offscreen, EGL has no bloom, so the window itself follows --antialias."""
    script = (
        "from game.app import ExplorerApp, ExplorerSettings, multisamples_for, renderer_name\n"
        f"app = ExplorerApp(ExplorerSettings(size=(320, 180), offscreen=True, antialias={antialias!r}))\n"
        "app.step_frames(2)\n"
        "print('pipe', app.base.pipe.getType().getName())\n"
        f"print('expected', multisamples_for({antialias!r}, renderer_name(app.base)))\n"
        "print('samples', app.base.win.getFbProperties().getMultisamples())\n"
        "app.destroy()\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split() for line in result.stdout.splitlines()
                 if line.startswith(("pipe", "expected", "samples")))
    if lines["pipe"] != "eglGraphicsPipe":
        pytest.skip(f"offscreen fell back to {lines['pipe']}, which has no multisampling (install libegl-mesa0)")
    assert lines["samples"] == lines["expected"]


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (run under xvfb-run)")
def test_opengl_bloom_enabled(tmp_path):
    """On OpenGL (Mesa under Xvfb in CI), CommonFilters.setBloom() succeeds."""
    script = (
        "from game.app import ExplorerApp, ExplorerSettings\n"
        "app = ExplorerApp(ExplorerSettings(size=(320, 180), bloom=True))\n"
        "app.step_frames(2)\n"
        "print('pipe', app.base.pipe.getInterfaceName())\n"
        "print('bloom', app.scene.bloom_enabled)\n"
        f"app.screenshot({str(tmp_path / 'gl.png')!r})\n"
        "app.destroy()\n"
        "print('filters after destroy', app.scene.filters)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr[-2000:]
    assert "pipe OpenGL" in result.stdout
    assert "bloom True" in result.stdout
    assert "filters after destroy None" in result.stdout
    assert (tmp_path / "gl.png").stat().st_size > 1000


def test_panel_points_block_camera(explorer):
    aspect = explorer.base.getAspectRatio()

    # The accuracy panel hangs from the window's right edge, the heat map sits mid-screen.
    assert explorer.point_over_panel(aspect - 0.2, 0.6)
    assert not explorer.point_over_panel(0.0, 0.0)

    explorer.toggle_overlay("heatmap")
    assert explorer.point_over_panel(0.5, 0.0)


def test_omitted_class_restarts_student(explorer):
    explorer.set_training(True)

    explorer.set_omitted_class(3)

    lab = explorer.lab
    assert lab.omitted_class == 3
    assert 3 not in lab.distiller.transfer_labels
    assert not explorer.training
    np.testing.assert_array_equal(lab.student.params, lab.distiller.initial_student.params)


def test_help_lists_panels_and_sliders(explorer):
    texts = [path.node().getText() for path in explorer.help.root.findAllMatches("**/+TextNode")]

    for topic in ("Speed slider", "Match gauge", "KL readout", "Held-out digits", "Loss plot",
                  "Accuracy plot", "Experiments (X)", "Press H, F1 or Esc to close"):
        assert topic in texts


def test_help_legend_uses_model_widths(panda_base, teacher, split):
    from game.app import ExplorerApp, ExplorerSettings
    from sim.lab import Lab
    from sim.training import TrainingConfig

    lab = Lab(teacher=teacher, split=split, config=TrainingConfig(student_sizes=(64, 8, 10)))
    app = ExplorerApp(ExplorerSettings(size=(640, 360), offscreen=True, bloom=False),
                      base=panda_base, lab=lab, owns_base=False)
    texts = [path.node().getText() for path in app.help.root.findAllMatches("**/+TextNode")]
    app.destroy()

    assert "the teacher, 64-128-128-64-10, frozen" in texts
    assert "the student, 64-8-10, in training" in texts


def test_training_leaves_teacher_glow(explorer, monkeypatch):
    calls = []
    monkeypatch.setattr(explorer.teacher_view, "set_activations", lambda *args: calls.append(args))
    explorer.set_training(True)

    explorer.step_frames(20, 1.0 / 10.0)

    assert explorer.lab.distiller.adam_step > 0
    assert calls == []
    explorer.set_temperature(9.0)
    assert len(calls) == 1


def panel_extents(explorer) -> tuple[float, float]:
    """Return the aspect2d x of the control panel's right edge and of the right column's left edge."""
    from game import controls

    aspect2d = explorer.base.aspect2d
    panel_right = aspect2d.getRelativePoint(explorer.left_column, Point3(controls.PANEL_RIGHT, 0, 0)).x
    column_left = min(box[0] for box in explorer.panel_boxes()[:2])
    return panel_right, column_left


@pytest.mark.parametrize("aspect", [4 / 3, 5 / 4, 16 / 10])
def test_narrow_window_keeps_panel_proportions(explorer, monkeypatch, aspect):
    wide_right, wide_left = panel_extents(explorer)
    wide_gap = (wide_left - wide_right) / (2 * explorer.base.getAspectRatio())

    monkeypatch.setattr(explorer.base, "getAspectRatio", lambda *args: aspect)
    explorer.fit_screen()

    panel_right, column_left = panel_extents(explorer)
    for x0, z0, x1, z1 in explorer.panel_boxes():
        assert -aspect <= x0 < x1 <= aspect + 1e-6
        assert -1.0 <= z0 < z1 <= 1.0
    assert panel_right < column_left
    assert (column_left - panel_right) / (2 * aspect) == pytest.approx(wide_gap, abs=1e-4)


def test_wide_window_hangs_columns_from_edges(explorer, monkeypatch):
    monkeypatch.setattr(explorer.base, "getAspectRatio", lambda *args: 21 / 9)
    explorer.fit_screen()

    right_edge = max(box[2] for box in explorer.panel_boxes()[:2])
    assert explorer.screen.getScale().x == pytest.approx(1.0)
    assert right_edge == pytest.approx(ACCURACY_BOX[2] + 21 / 9 - 16 / 9, abs=1e-4)


def test_window_event_refits_layout(explorer, monkeypatch):
    monkeypatch.setattr(explorer.base, "getAspectRatio", lambda *args: 4 / 3)

    # ShowBase's own handler of this event expects a window, not the tests' offscreen buffer,
    # so the app's handler is called directly after checking that it listens.
    handlers = [entry[0] for entry in explorer.base.messenger.whoAccepts("window-event").values()]
    assert explorer._on_window_event in handlers
    explorer._on_window_event(explorer.base.win)

    assert explorer.screen.getScale().x == pytest.approx(0.75)


def test_wide_window_keeps_vertical_field_of_view(explorer, monkeypatch):
    lens = explorer.base.camLens
    standard_vertical = lens.getFov()[1]

    monkeypatch.setattr(explorer.base, "getAspectRatio", lambda *args: 21 / 9)
    lens.setAspectRatio(21 / 9)
    explorer.fit_screen()

    assert lens.getFov()[1] == pytest.approx(standard_vertical, abs=0.01)
    assert lens.getFov()[0] > app_module.LENS_FOV


def charts_right_edge(explorer) -> float:
    """Return the aspect2d x of the output charts' right edge in the overview camera's image."""
    from panda3d.core import Point2

    from game.charts import BACKING_BOX

    x0, z0, x1, z1 = BACKING_BOX
    lens, camera = explorer.base.camLens, explorer.base.camera
    edges = []
    for x, z in ((x0, z0), (x0, z1), (x1, z0), (x1, z1)):
        film = Point2()
        assert lens.project(camera.getRelativePoint(explorer.charts.root, Point3(x, 0, z)), film)
        edges.append(film.x * explorer.base.getAspectRatio())
    return max(edges)


def test_drawing_pad_takes_verdict_panel_place(explorer):
    explorer.toggle_overlay("drawpad")

    assert explorer.verdict_panel.root.isHidden()
    pad = explorer.panel_boxes()[-1]
    aspect = explorer.base.getAspectRatio()
    assert pad[2] <= aspect + 1e-6
    charts_edge = charts_right_edge(explorer)
    assert 0.5 < charts_edge < pad[0]

    explorer.toggle_overlay("drawpad")

    assert not explorer.verdict_panel.root.isHidden()
