"""Overlay draw calls: each overlay is a few Geoms, and its changing texts still redraw."""

import pytest

from game.widgets import drawn_geom_count

# The whole frame with any one overlay open, bloom passes not included.
FRAME_GEOM_LIMIT = 45


def frame_geoms(explorer) -> int:
    return drawn_geom_count(explorer.base.render) + drawn_geom_count(explorer.base.render2d)


def drawn_strings(baked_text) -> list[str]:
    """Return the strings a BakedText's Geom was last built from."""
    return [text for text, _ in baked_text.drawn]


@pytest.mark.parametrize("name, limit", [("heatmap", 6), ("drawpad", 5), ("experiments", 3)])
def test_overlay_draws_few_geoms(explorer, name, limit):
    overlay = explorer.overlays[name]
    explorer.toggle_overlay(name)
    explorer.step_frames(2, 1.0 / 30.0)

    assert overlay.visible
    assert drawn_geom_count(overlay.root) <= limit
    assert frame_geoms(explorer) <= FRAME_GEOM_LIMIT


def test_help_draws_two_geoms(explorer):
    explorer.toggle_help()
    explorer.step_frames(2, 1.0 / 30.0)

    assert explorer.help.shown
    assert drawn_geom_count(explorer.help.root) == 2
    assert frame_geoms(explorer) <= FRAME_GEOM_LIMIT


def test_help_sources_draw_nothing(explorer):
    explorer.toggle_help()

    assert explorer.help.root.findAllMatches("**/+TextNode").getNumPaths() > 80
    assert drawn_geom_count(explorer.help.sources) == 0


def test_heatmap_title_follows_temperature(explorer):
    heatmap = explorer.heatmap
    explorer.set_temperature(2.0)
    explorer.toggle_overlay("heatmap")
    explorer.step_frames(1, 1.0 / 30.0)
    assert any(text.endswith("= 2.0") for text in drawn_strings(heatmap.text))

    explorer.set_temperature(7.0)
    explorer.step_frames(1, 1.0 / 30.0)

    titles = [text for text in drawn_strings(heatmap.text) if text.startswith("Dark knowledge at")]
    assert len(titles) == 1
    assert titles[0].endswith("= 7.0")


def test_drawpad_status_follows_drawing(explorer):
    pad = explorer.drawpad
    explorer.toggle_overlay("drawpad")
    assert any(text.startswith("held-out sample") for text in drawn_strings(pad.text))

    pad.clear()

    assert "drawn digit: both networks see this" in drawn_strings(pad.text)
    assert not any(text.startswith("held-out sample") for text in drawn_strings(pad.text))


def test_experiments_result_follows_run(explorer, tmp_path):
    panel = explorer.experiments
    panel.results_dir = tmp_path
    explorer.toggle_overlay("experiments")
    assert "Every digit reaches the student." in drawn_strings(panel.baked_text)

    panel.choose_digit(3)
    explorer.set_training(True)
    explorer.step_frames(30, 1.0 / 10.0)
    panel._refresh(force=True)

    result = explorer.lab.omitted_class_result()
    assert panel.text("result") in drawn_strings(panel.baked_text)
    assert f"+{result.bias_shift:.2f}" in panel.text("result")
    assert "Every digit reaches the student." not in drawn_strings(panel.baked_text)


def test_experiments_status_colour_follows_outcome(explorer, tmp_path):
    from game.experiments_panel import ERROR_COLOR, GOOD_COLOR

    panel = explorer.experiments
    panel.results_dir = tmp_path
    panel.load_student()
    drawn = dict(panel.baked_text.drawn)
    assert drawn[panel.text("status")] == pytest.approx(ERROR_COLOR)

    panel.save_student()

    drawn = dict(panel.baked_text.drawn)
    assert panel.text("status").startswith("saved student to")
    assert drawn[panel.text("status")] == pytest.approx(GOOD_COLOR)
