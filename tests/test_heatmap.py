"""DarkKnowledgeMap: rows sum to 1, colours follow tau, and it toggles."""

import numpy as np
import pytest

from game.heatmap import COLOR_FLOOR, DarkKnowledgeMap, probability_colors


@pytest.fixture
def heatmap(panda_base, lab):
    heatmap = DarkKnowledgeMap(panda_base.aspect2d, lab)
    yield heatmap
    heatmap.destroy()


def texture_bytes(heatmap):
    return bytes(heatmap.texture.getRamImage())


def test_hidden_until_shown(heatmap):
    assert not heatmap.visible
    heatmap.toggle()
    assert heatmap.visible
    heatmap.toggle()
    assert not heatmap.visible


def test_rows_sum_to_one(heatmap, lab):
    heatmap.show()
    np.testing.assert_allclose(heatmap.values.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(heatmap.values, lab.dark_knowledge_map(lab.temperature))


def test_colours_follow_temperature(heatmap, lab):
    lab.temperature = 1.0
    heatmap.show()
    colors_at_1 = heatmap.colors.copy()
    texels_at_1 = texture_bytes(heatmap)
    assert heatmap.drawn_temperature == 1.0
    assert "1.0" in heatmap.title.node().getText()

    lab.temperature = 10.0
    heatmap.update(0.1)
    assert heatmap.drawn_temperature == 10.0
    assert not np.allclose(heatmap.colors, colors_at_1)
    assert texture_bytes(heatmap) != texels_at_1

    off_diagonal = ~np.eye(10, dtype=bool)
    brightness_at_1 = colors_at_1.sum(axis=2)[off_diagonal].mean()
    brightness_at_10 = heatmap.colors.sum(axis=2)[off_diagonal].mean()
    assert brightness_at_10 > brightness_at_1


def test_hidden_map_skips_recompute(heatmap, lab):
    lab.temperature = 5.0
    heatmap.update(0.1)
    assert heatmap.drawn_temperature is None
    heatmap.show()
    assert heatmap.drawn_temperature == 5.0


def test_colour_scale_is_logarithmic():
    colors = probability_colors(np.array([COLOR_FLOOR / 10, COLOR_FLOOR, 1e-2, 1.0, np.nan]))
    np.testing.assert_allclose(colors[0], colors[1])
    brightness = colors[:4].sum(axis=1)
    assert brightness[1] < brightness[2] < brightness[3]
    assert np.all(np.isfinite(colors[4]))


def test_destroy_removes_all_nodes(panda_base, lab):
    parent = panda_base.aspect2d.attachNewNode("parent")
    heatmap = DarkKnowledgeMap(parent, lab)
    heatmap.show()
    heatmap.destroy()
    assert parent.getNumChildren() == 0
