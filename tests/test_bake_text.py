"""bake_text and BakedText merge text into few Geoms; texts that still change stay editable."""

from panda3d.core import GeomNode, NodePath, TextNode

from game.widgets import BakedText, bake_text, load_font, make_text


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


def test_rebake_follows_text_changes():
    font = load_font()
    root = NodePath("panel")
    digits = [make_text(root, str(digit), font, pos=(digit, 0.0)) for digit in range(3)]
    baked = BakedText(root, digits)
    first = baked.holder

    digits[1].node().setText("7")
    baked.rebake()

    assert baked.holder != first
    assert first.isEmpty() or first.getParent().isEmpty()
    assert [path for path in root.getChildren()] == [baked.holder]
    assert sum(path.node().getNumGeoms() for path in baked.holder.findAllMatches("**/+GeomNode")) == 1


def test_rebake_skips_unchanged_text():
    font = load_font()
    root = NodePath("panel")
    baked = BakedText(root, [make_text(root, "4", font)])
    first = baked.holder

    baked.rebake()

    assert baked.holder == first
