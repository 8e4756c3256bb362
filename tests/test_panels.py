"""VerdictPanel and AccuracyPanel: their numbers come from the lab's networks and summary."""

import numpy as np
import pytest

from game.panels import AccuracyPanel, VerdictPanel, pick_verdict_indices
from game.widgets import drawn_geom_count


def shown_predictions(panel):
    return [[int(text.node().getText()) for text in row] for row in panel.predictions]


def test_verdict_indices_are_varied(lab):
    indices = pick_verdict_indices(lab)
    labels = lab.split.test_labels[indices]
    untrained = lab.distiller.initial_student.predict(lab.split.test_images[indices])

    assert len(indices) >= 6
    assert len(set(labels.tolist())) == len(indices)
    assert np.sum(untrained != labels) >= 3


def test_verdict_predictions_match_networks(panda_base, lab):
    lab.distiller.run(2)
    panel = VerdictPanel(panda_base.aspect2d, lab)
    images = lab.split.test_images[panel.indices]

    shown = np.array(shown_predictions(panel))
    np.testing.assert_array_equal(shown[:, 0], lab.distiller.initial_student.predict(images))
    np.testing.assert_array_equal(shown[:, 1], lab.student.predict(images))
    np.testing.assert_array_equal(shown[:, 2], lab.teacher.predict(images))
    labels = [int(text.node().getText()) for text in panel.labels]
    assert labels == lab.split.test_labels[panel.indices].tolist()
    panel.destroy()


def test_verdict_colours_mark_right_and_wrong(panda_base, lab):
    panel = VerdictPanel(panda_base.aspect2d, lab, indices=[0, 1, 2, 3, 4, 5])
    for verdict, row in zip(panel.verdicts, panel.predictions):
        for guess, text in zip((verdict.untrained_prediction, verdict.student_prediction,
                                verdict.teacher_prediction), row):
            red, green = text.node().getTextColor()[0], text.node().getTextColor()[1]
            assert (green > red) == (guess == verdict.label)
    panel.destroy()


def test_verdict_student_column_follows_training(panda_base, lab):
    panel = VerdictPanel(panda_base.aspect2d, lab)
    before = shown_predictions(panel)
    lab.distiller.run(5)
    panel.update(1.0)
    after = shown_predictions(panel)
    images = lab.split.test_images[panel.indices]

    assert [row[1] for row in after] == lab.student.predict(images).tolist()
    assert [row[0] for row in after] == [row[0] for row in before]
    panel.destroy()


def test_accuracy_panel_shows_summary(panda_base, lab):
    panel = AccuracyPanel(panda_base.aspect2d, lab)
    summary = lab.accuracy_summary()
    text = panel.text

    assert f"{summary.teacher_accuracy * 100:.1f} %" in text
    assert f"{summary.student_accuracy * 100:.1f} %" in text
    assert f"{summary.teacher_params:,}" in text
    assert f"{summary.student_params:,}" in text
    assert f"{summary.param_ratio:.1f}" in text
    assert f"{summary.speed_ratio:.1f}" in text
    panel.destroy()


def test_accuracy_panel_follows_student(panda_base, lab):
    panel = AccuracyPanel(panda_base.aspect2d, lab)
    lab.distiller.run(3)
    panel.update(1.0)
    assert f"{lab.distiller.student_accuracy * 100:.1f} %" in panel.text
    panel.destroy()


def test_panels_destroy_removes_all_nodes(panda_base, lab):
    parent = panda_base.aspect2d.attachNewNode("parent")
    for panel in (VerdictPanel(parent, lab), AccuracyPanel(parent, lab)):
        panel.update(0.5)
        panel.destroy()
    assert parent.getNumChildren() == 0


def test_accuracy_panel_race_rows(panda_base, lab):
    panel = AccuracyPanel(panda_base.aspect2d, lab)
    assert "Scratch" not in panel.text
    assert panel.scratch_line.isHidden()

    lab.set_race(True)
    lab.advance(1.0, 2.0)
    panel.update(1.0)
    text = panel.text

    assert "Scratch" in text
    assert f"{lab.scratch.student_accuracy * 100:.1f} %" in text
    assert f"{lab.race_gap() * 100:+.1f} points" in text
    assert not panel.scratch_line.isHidden()

    lab.set_race(False)
    panel.update(1.0)
    assert "Scratch" not in panel.text
    assert panel.scratch_line.isHidden()
    panel.destroy()


def atlas_image(panel, row):
    """Return the (8, 8) image in [0, 1] that row `row`'s card shows, top row first."""
    texture = panel.atlas
    grey = np.frombuffer(texture.getRamImage(), dtype=np.uint8).reshape(texture.getYSize(), 8)
    vdata = panel.images.node().getGeom(0).getVertexData()
    uvs = np.frombuffer(vdata.getArray(1), dtype=np.float32).reshape(-1, 4, 2)[row]
    first = round(uvs[:, 1].min() * texture.getYSize())
    last = round(uvs[:, 1].max() * texture.getYSize())
    assert last - first == 8
    # The gutter rows repeat the image's edge rows.
    np.testing.assert_array_equal(grey[first - 1], grey[first])
    np.testing.assert_array_equal(grey[last], grey[last - 1])
    return grey[first:last][::-1] / 255.0


def test_verdict_atlas_shows_each_row_digit(panda_base, lab):
    panel = VerdictPanel(panda_base.aspect2d, lab)
    images = lab.split.test_images[panel.indices].reshape(-1, 8, 8)

    for row in range(len(panel.indices)):
        np.testing.assert_allclose(atlas_image(panel, row), np.clip(images[row], 0, 1), atol=1 / 255)
        positions = np.frombuffer(panel.images.node().getGeom(0).getVertexData().getArray(0),
                                  dtype=np.float32).reshape(-1, 4, 3)[row]
        x0, z0, x1, z1 = panel.image_boxes[row]
        assert positions[:, 0].min() == pytest.approx(x0)
        assert positions[:, 2].max() == pytest.approx(z1)
    panel.destroy()


def test_verdict_panel_draws_three_geoms(panda_base, lab):
    panel = VerdictPanel(panda_base.aspect2d, lab)
    lab.distiller.run(3)
    panel.update(1.0)

    # Rectangles, digit images and text.
    assert drawn_geom_count(panel.root) == 3
    panel.destroy()


def test_accuracy_panel_draws_two_geoms(panda_base, lab):
    panel = AccuracyPanel(panda_base.aspect2d, lab)
    lab.set_race(True)
    lab.advance(1.0, epochs_per_second=1.0)
    panel.update(1.0)

    assert "Scratch" in panel.text
    assert drawn_geom_count(panel.root) == 2
    panel.destroy()


def test_accuracy_race_rows_reach_drawn_text(panda_base, lab):
    panel = AccuracyPanel(panda_base.aspect2d, lab)
    before = panel.baked_text.geom_node.getGeom(0).getVertexData().getNumRows()
    lab.set_race(True)
    lab.advance(1.0, epochs_per_second=1.0)
    panel.update(1.0)
    after = panel.baked_text.geom_node.getGeom(0).getVertexData().getNumRows()

    # The scratch and race-gap rows add glyphs to the merged text.
    assert after > before
    panel.destroy()
