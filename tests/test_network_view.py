"""The network views: one Geom per network for edges and one for neurons, coloured from NumPy."""

import numpy as np
import pytest
from panda3d.core import GeomNode, NodePath

from game.geometry import glow_texture
from game.network_view import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    InputCard,
    NetworkView,
    grid_shape,
    layer_positions,
    weight_colors,
)
from game.widgets import drawn_geom_count
from sim.model import STUDENT_SIZES, TEACHER_SIZES


@pytest.fixture(scope="module")
def glow():
    return glow_texture()


def make_view(sizes, glow, name="net"):
    return NetworkView(NodePath("world"), name, sizes, -10.0, 3.0, 0.0, (1.0, 0.7, 0.3), glow)


def color_rows(bulk, array_index=1) -> np.ndarray:
    data = bulk.geom.getVertexData().getArray(array_index)
    return np.frombuffer(memoryview(data), dtype=np.uint8).reshape(-1, 4)


@pytest.mark.parametrize("sizes", [TEACHER_SIZES, STUDENT_SIZES])
def test_view_counts_match_layer_sizes(sizes, glow):
    view = make_view(sizes, glow)
    n_edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    assert view.n_neurons == sum(sizes)
    assert view.n_edges == n_edges
    assert view.neurons.geom.getVertexData().getNumRows() == sum(sizes)
    assert view.edges.geom.getVertexData().getNumRows() == 2 * n_edges
    assert view.edges.geom.getPrimitive(0).getNumPrimitives() == n_edges
    assert [len(p) for p in view.layer_positions] == list(sizes)


def test_view_has_no_node_per_edge(glow):
    view = make_view(TEACHER_SIZES, glow)

    geom_nodes = view.root.findAllMatches("**/+GeomNode")
    line_and_point_nodes = [n for n in geom_nodes if n.name.startswith("net-")]

    # Edges, neurons, the neurons' halo and one Geom of text labels.
    assert sorted(n.name for n in line_and_point_nodes) == ["net-edges", "net-halo", "net-labels", "net-neurons"]
    for node in line_and_point_nodes:
        assert isinstance(node.node(), GeomNode)
        assert node.node().getNumGeoms() == 1


def test_teacher_visibly_larger_than_student(glow):
    teacher = make_view(TEACHER_SIZES, glow, "teacher")
    student = make_view(STUDENT_SIZES, glow, "student")

    def extent(view):
        return np.ptp(view.positions[:, 1]) * np.ptp(view.positions[:, 2])

    assert extent(teacher) > 2 * extent(student)
    assert teacher.n_edges > 25 * student.n_edges


def test_grid_shapes():
    assert grid_shape(64) == (8, 8)
    assert grid_shape(128) == (16, 8)
    assert grid_shape(16) == (4, 4)
    assert grid_shape(10) == (1, 10)
    columns, rows = grid_shape(30)
    assert columns * rows >= 30


def test_layer_positions_share_x_and_centre():
    positions = layer_positions(128, 2.5, 5.0)

    assert positions.shape == (128, 3)
    assert np.all(positions[:, 0] == 2.5)
    assert positions[:, 2].mean() == pytest.approx(5.0)
    assert len(np.unique(positions[:, 1:], axis=0)) == 128


def test_weight_colors_hue_by_sign():
    weights = np.array([[0.5, -0.5], [0.0, 2.0]], dtype=np.float32)

    colors = weight_colors(weights)

    np.testing.assert_allclose(colors[0, :3], POSITIVE_COLOR)
    np.testing.assert_allclose(colors[1, :3], NEGATIVE_COLOR)
    assert colors[3, 3] > colors[0, 3] > colors[2, 3]
    assert colors[2, 3] == 0.0


def test_set_weights_recolours_edges(glow, teacher):
    view = make_view(TEACHER_SIZES, glow)
    view.set_weights(teacher.layers())
    view.update(0.1)
    before = color_rows(view.edges).copy()

    flipped = teacher.copy()
    for weights, _ in flipped.layers():
        weights *= -1.0
    view.set_weights(flipped.layers())
    view.update(0.1)
    after = color_rows(view.edges)

    assert after.shape == (2 * view.n_edges, 4)
    assert not np.array_equal(before, after)
    # Both ends of an edge share its colour.
    np.testing.assert_array_equal(after[0::2], after[1::2])


def test_activations_light_neurons(glow, teacher, split):
    view = make_view(TEACHER_SIZES, glow)
    view.set_weights(teacher.layers())
    view.update(0.1)
    dark = color_rows(view.neurons).astype(int).sum()

    view.set_activations(teacher.activations(split.test_images[0]))
    for _ in range(30):
        view.update(1.0 / 30.0)
    lit = color_rows(view.neurons).astype(int).sum()

    assert lit > dark
    assert np.max(view.shown_intensity) == pytest.approx(1.0, abs=0.01)


def test_black_halos_take_no_space(glow, teacher, split):
    view = make_view(TEACHER_SIZES, glow)
    view.set_activations(teacher.activations(split.test_images[0]))
    view.shown_intensity[:] = view.target_intensity
    view.update(0.0)

    colors = color_rows(view.halo)
    sizes = np.frombuffer(memoryview(view.halo.geom.getVertexData().getArray(2)), dtype=np.float32)
    black = ~colors[:, :3].any(axis=1)
    assert 0 < black.sum() < len(black)
    assert np.all(sizes[black] == 0.0)
    assert np.all(sizes[~black] > 0.0)


def test_pulse_hides_unreached_layers(glow, teacher, split):
    view = make_view(TEACHER_SIZES, glow)
    view.set_activations(teacher.activations(split.test_images[0]))
    view.shown_intensity[:] = view.target_intensity

    view.set_pulse(np.array([1, 0, 0, 0, 0]), np.zeros(4))
    view.update(0.0)
    sizes = np.frombuffer(memoryview(view.neurons.geom.getVertexData().getArray(2)), dtype=np.float32)

    hidden = sizes[TEACHER_SIZES[0]:]
    assert np.allclose(hidden, hidden.min())
    assert sizes[:TEACHER_SIZES[0]].max() > hidden.max()


def test_input_card_shows_digit(split):
    targets = [layer_positions(64, -10.0, 5.0), layer_positions(64, -10.0, -5.0)]
    card = InputCard(NodePath("world"), (-15.0, 0.0, 0.0), targets)

    card.set_image(split.test_images[3], "held-out #3")

    ram = np.frombuffer(card.texture.getRamImage(), dtype=np.uint8).reshape(8, 16, 3)
    # RAM rows run bottom to top in BGR; the brightest stored pixel is the image's maximum.
    image = split.test_images[3].reshape(8, 8)
    assert ram[::-1, :8, 0].argmax() == image.argmax()
    # The border samples the white columns, so its vertex colour is what it shows.
    assert np.all(ram[:, 10:] == 255)
    np.testing.assert_array_equal(ram[:, 8], ram[:, 7])
    assert card.caption.node().getText() == "held-out #3"
    assert card.feed.geom.getVertexData().getNumRows() == 2 * 64 * 2


def test_input_card_is_one_geom(split):
    targets = [layer_positions(64, -10.0, 5.0)]
    card = InputCard(NodePath("world"), (-15.0, 0.0, 0.0), targets)
    vdata = card.card.node().getGeom(0).getVertexData()
    positions = np.frombuffer(vdata.getArray(0), dtype=np.float32).reshape(2, 4, 3)
    uvs = np.frombuffer(vdata.getArray(2), dtype=np.float32).reshape(2, 4, 2)

    assert card.card.node().getNumGeoms() == 1
    # Border first and behind, then the image over the texture's left half.
    assert positions[0, :, 1].min() > positions[1, :, 1].max()
    assert positions[0, :, 0].max() - positions[0, :, 0].min() > positions[1, :, 0].max() - positions[1, :, 0].min()
    assert uvs[0, :, 0].min() >= 10 / 16
    np.testing.assert_allclose(uvs[1, :, 0].max(), 0.5)
    # Title and caption, card, feed lines.
    assert drawn_geom_count(card.root) <= 4


def test_layer_labels_draw_as_one_geom(glow):
    view = make_view(TEACHER_SIZES, glow)
    view.add_title("Teacher", (0.0, 0.0, 4.0))

    assert len(view.labels.texts) == len(TEACHER_SIZES) + 1
    assert drawn_geom_count(view.labels.path) == 1


def test_input_caption_change_reaches_labels(split):
    card = InputCard(NodePath("world"), (-15.0, 0.0, 0.0), [layer_positions(64, -10.0, 5.0)])
    before = card.labels.node.getGeom(0).getVertexData().getNumRows()

    card.set_image(split.test_images[0], "held-out #0")

    assert card.labels.node.getGeom(0).getVertexData().getNumRows() > before


def test_label_sources_stay_findable_but_hidden(glow):
    view = make_view(TEACHER_SIZES, glow)
    view.add_title("Teacher   33,738 parameters", (0.0, 0.0, 4.0))

    texts = [path.node().getText() for path in view.root.findAllMatches("**/+TextNode")]
    assert "Teacher   33,738 parameters" in texts
    assert all(path.isHidden() for path in view.root.findAllMatches("**/+TextNode"))
    assert drawn_geom_count(view.root.find("**/net-labels")) == 1
