"""bake_text, BakedText and BillboardText merge text into few Geoms; changing texts stay editable."""

import numpy as np
from panda3d.core import GeomNode, Mat4, NodePath, TextNode

from game.widgets import (
    BakedText,
    BillboardText,
    _text_key,
    bake_text,
    billboard_rotation,
    load_font,
    make_text,
    set_text,
    set_text_color,
)


def test_bake_merges_static_text():
    font = load_font()
    root = NodePath("panel")
    for digit in range(10):
        make_text(root, str(digit), font, pos=(digit, 0.0), color=(1.0, digit / 10, 0.0, 1.0))
    readout = make_text(root, "0.5", font, pos=(0.0, 2.0))

    holder = bake_text(root, keep=[readout])

    remaining = [path for path in root.getChildren() if isinstance(path.node(), TextNode)]
    assert remaining == [readout]
    geoms = sum(path.node().getNumGeoms() for path in holder.findAllMatches("**/+GeomNode"))
    assert geoms == 1
    assert isinstance(holder.getChild(0).node(), GeomNode)


def test_bake_leaves_kept_text_editable():
    font = load_font()
    root = NodePath("panel")
    readout = make_text(root, "", font)

    bake_text(root, keep=[readout])
    readout.node().setText("12 %")

    assert readout.getParent() == root
    assert readout.node().getText() == "12 %"


def drawn_arrays(baked):
    """Return the merged Geom's (positions, colours) as NumPy arrays."""
    node = baked.geom_node
    assert node.getNumGeoms() == 1
    vdata = node.getGeom(0).getVertexData()
    positions = np.frombuffer(vdata.getArray(0), dtype=np.float32).reshape(-1, 3)
    colors = np.frombuffer(vdata.getArray(1), dtype=np.float32).reshape(-1, 4)
    return positions.copy(), colors.copy()


def test_rebake_follows_text_changes():
    font = load_font()
    root = NodePath("panel")
    digits = [make_text(root, str(digit), font, pos=(digit, 0.0)) for digit in range(3)]
    baked = BakedText(root, digits)
    first, _ = drawn_arrays(baked)

    digits[1].node().setText("7")
    baked.rebake()
    changed, _ = drawn_arrays(baked)

    fresh_root = NodePath("fresh")
    fresh = BakedText(fresh_root, [make_text(fresh_root, text, font, pos=(x, 0.0))
                                   for x, text in enumerate("072")])
    expected, _ = drawn_arrays(fresh)
    assert [path for path in root.getChildren()] == [baked.holder]
    assert not np.array_equal(changed, first)
    np.testing.assert_array_equal(changed, expected)


def test_rebake_moves_colour_into_vertices():
    font = load_font()
    root = NodePath("panel")
    texts = [make_text(root, "8", font, color=(1.0, 0.0, 0.0, 1.0)),
             make_text(root, "8", font, pos=(2.0, 0.0), color=(0.0, 1.0, 0.0, 0.5))]
    baked = BakedText(root, texts)
    _, colors = drawn_arrays(baked)
    half = len(colors) // 2
    np.testing.assert_allclose(colors[:half], [[1.0, 0.0, 0.0, 1.0]] * half)
    np.testing.assert_allclose(colors[half:], [[0.0, 1.0, 0.0, 0.5]] * half)

    set_text_color(texts[0], (0.0, 0.0, 1.0, 1.0))
    baked.rebake()
    _, colors = drawn_arrays(baked)
    np.testing.assert_allclose(colors[:half], [[0.0, 0.0, 1.0, 1.0]] * half)


def test_rebake_reuses_unchanged_meshes():
    font = load_font()
    root = NodePath("panel")
    texts = [make_text(root, "static", font), make_text(root, "0", font, pos=(0.0, 1.0))]
    baked = BakedText(root, texts)
    static_mesh = baked.meshes[_text_key(texts[0])]

    set_text(texts[1], "1")
    baked.rebake()

    assert baked.meshes[_text_key(texts[0])] is static_mesh
    assert len(baked.meshes) == 2


def test_rebake_skips_hidden_and_follows_moves():
    font = load_font()
    root = NodePath("panel")
    texts = [make_text(root, "4", font), make_text(root, "5", font, pos=(1.0, 0.0))]
    baked = BakedText(root, texts)
    both, _ = drawn_arrays(baked)

    texts[1].hide()
    baked.rebake()
    single, _ = drawn_arrays(baked)
    assert len(single) == len(both) // 2

    texts[1].show()
    texts[1].setZ(3.0)
    baked.rebake()
    moved, _ = drawn_arrays(baked)
    np.testing.assert_allclose(moved[len(single):, 2], both[len(single):, 2] + 3.0, atol=1e-5)


def test_set_texts_replaces_sources():
    font = load_font()
    root = NodePath("panel")
    baked = BakedText(root, [make_text(root, "1", font)], draw_after_transparent=True)
    replacement = make_text(root, "1", font, pos=(0.0, 2.0))

    baked.set_texts([replacement])

    assert replacement.getParent().isEmpty()
    positions, _ = drawn_arrays(baked)
    assert positions[:, 2].min() > 1.5
    assert baked.holder.getBinName() == "fixed"


def test_rebake_skips_unchanged_text():
    font = load_font()
    root = NodePath("panel")
    baked = BakedText(root, [make_text(root, "4", font)])
    first = baked.holder

    geom = baked.geom_node.getGeom(0)

    baked.rebake()

    assert baked.holder == first
    assert baked.geom_node.getGeom(0) == geom


def render_labels(base, merged: bool) -> np.ndarray:
    """Render two labels, as billboard nodes or as one BillboardText, and return the RGB frame."""
    font = load_font()
    root = base.render.attachNewNode("labels")
    root.setPos(0.5, 2.0, 0.0)
    paths = []
    for text, position in (("64 inputs", (-2.0, 0.0, 0.0)), ("Teacher", (1.5, 1.0, 1.0))):
        node = TextNode("label")
        node.setFont(font)
        node.setText(text)
        node.setAlign(TextNode.ACenter)
        node.setShadow(0.05, 0.05)
        path = NodePath(node)
        path.setPos(*position)
        path.setScale(0.6)
        paths.append(path)

    if merged:
        labels = BillboardText(root)
        for path in paths:
            labels.add(path)
    else:
        for path in paths:
            path.reparentTo(root)
            path.setBillboardPointEye()
    base.win.setClearColor((0.0, 0.0, 0.0, 1.0))
    base.camera.setPos(6.0, -14.0, 5.0)
    base.camera.lookAt(0.0, 0.0, 0.0)
    base.camera.setR(12.0)
    base.graphicsEngine.renderFrame()
    base.graphicsEngine.renderFrame()
    texture = base.win.getScreenshot()
    root.removeNode()
    image = np.frombuffer(texture.getRamImageAs("RGB"), dtype=np.uint8)
    return image.reshape(texture.getYSize(), texture.getXSize(), 3).astype(int)


def test_billboard_text_matches_billboard_nodes(panda_base):
    expected = render_labels(panda_base, merged=False)
    merged = render_labels(panda_base, merged=True)

    lit = expected.max(axis=2) > 64
    assert lit.sum() > 200
    # Glyphs land on the same pixels, but edges may differ by a pixel from rounding.
    overlap = (lit & (merged.max(axis=2) > 64)).sum()
    assert overlap > 0.95 * lit.sum()
    assert np.abs(merged - expected).mean() < 1.0


def test_billboard_rotation_faces_camera():
    camera = NodePath("camera")
    camera.setHpr(30.0, -20.0, 10.0)
    modelview = Mat4(camera.getMat())
    modelview.invertInPlace()

    rotation = billboard_rotation(modelview)

    axes = np.array(camera.getMat()).reshape(4, 4)[:3, :3]
    np.testing.assert_allclose(rotation, axes, atol=1e-5)
