"""Shared drawing helpers for the charts and panels: fonts, text and batched Geoms.

Every helper draws in the XZ plane, which is both the screen plane of aspect2d and the plane
that faces a camera looking along +Y, so the same code serves in-world charts and 2D panels.
`QuadBatch` and `LineBatch` keep many rectangles or segments in one Geom whose vertices and
colours are rewritten in bulk from NumPy arrays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from panda3d.core import (
    CallbackNode,
    CardMaker,
    ColorAttrib,
    ColorScaleAttrib,
    DynamicTextFont,
    Filename,
    Geom,
    GeomLines,
    GeomLinestrips,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    NodePath,
    PGItem,
    PythonCallbackObject,
    RenderState,
    SamplerState,
    TextFont,
    TextNode,
    Texture,
    TransparencyAttrib,
)

log = logging.getLogger(__name__)

ASSETS_FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
# Fonts tried in order when no font is passed. DejaVu Sans has the Greek and math symbols
# that Panda3D's built-in font lacks (tau, double bar, multiplication sign).
SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
    Path("C:/Windows/Fonts/segoeui.ttf"),
)
FONT_PIXELS_PER_UNIT = 64             # for in-world text seen from a few units away
SCREEN_FONT_PIXELS_PER_UNIT = 28      # for aspect2d text at scales of 0.03 to 0.05

# Colours shared by the framed 2D panels and overlays.
PANEL_BORDER_COLOR = (0.35, 0.42, 0.6, 0.6)
OVERLAY_BACKING_COLOR = (0.03, 0.04, 0.08, 1.0)  # opaque: bright text behind showed through at 0.94

_font_cache: dict[str, TextFont] = {}


def load_font(path: str | Path | None = None, pixels_per_unit: float = FONT_PIXELS_PER_UNIT) -> TextFont:
    """Load a TrueType font (cached), or the first usable one of assets/fonts and SYSTEM_FONTS.

    `pixels_per_unit` sets the glyph texture resolution: keep it near the text's size on screen
    (SCREEN_FONT_PIXELS_PER_UNIT for 2D panels), because glyphs drawn much smaller than their
    texture lose thin strokes such as the stem of an i. Falls back to Panda3D's built-in font, which lacks tau and other symbols, so `symbol()`
    then picks plain-text stand-ins.
    """
    candidates = [Path(path)] if path is not None else [
        *sorted(ASSETS_FONT_DIR.glob("*.ttf")), *sorted(ASSETS_FONT_DIR.glob("*.otf")), *SYSTEM_FONTS,
    ]
    for candidate in candidates:
        key = f"{candidate}@{pixels_per_unit:g}"
        if key in _font_cache:
            return _font_cache[key]
        if not candidate.is_file():
            continue
        font = DynamicTextFont(Filename.fromOsSpecific(str(candidate)))
        if not font.isValid():
            log.warning("font %s could not be read, so the next candidate is tried", candidate)
            continue
        font.setPixelsPerUnit(pixels_per_unit)
        font.setPageSize(512, 512)
        _font_cache[key] = font
        log.info("loaded font %s at %g pixels per unit", candidate, pixels_per_unit)
        return font

    if path is not None:
        raise FileNotFoundError(f"font {path} is missing or not a readable TrueType/OpenType file")
    log.warning("no TrueType font found in %s or the system font folders, so Panda3D's "
                "built-in font is used, which lacks the tau symbol", ASSETS_FONT_DIR)
    return TextNode.getDefaultFont()


def symbol(font: TextFont, preferred: str, fallback: str) -> str:
    """Return `preferred` if `font` has a glyph for each of its characters, else `fallback`."""
    probe = TextNode("glyph-probe")
    probe.setFont(font)
    if all(probe.hasCharacter(character) for character in preferred if not character.isspace()):
        return preferred
    return fallback


def screen_root(parent: NodePath, name: str) -> NodePath:
    """Return a new node for a 2D panel whose children draw in the order they were attached.

    Without depth testing, the default bins would draw opaque parts before the transparent
    backing and could sort equal-depth transparent parts either way. The "unsorted" bin keeps
    scene-graph order instead, and as a later bin it also draws panels over default-bin 2D nodes.
    """
    root = parent.attachNewNode(name)
    root.setBin("unsorted", 0)
    return root


def make_text(parent: NodePath, text: str, font: TextFont, *, pos=(0.0, 0.0), scale: float = 0.05,
              color=(1, 1, 1, 1), align: str = "left", y: float = 0.0, name: str = "text") -> NodePath:
    """Attach a TextNode at (x, z) = pos in parent's XZ plane and return its NodePath.

    `align` is "left", "center" or "right"; the baseline sits at pos.
    """
    node = TextNode(name)
    node.setFont(font)
    node.setText(text)
    node.setTextColor(*color)
    node.setAlign({"left": TextNode.ALeft, "center": TextNode.ACenter, "right": TextNode.ARight}[align])
    path = parent.attachNewNode(node)
    path.setPos(pos[0], y, pos[1])
    path.setScale(scale)
    return path


def set_text(path: NodePath, text: str) -> None:
    """Change a text node's string only when it differs, since each change rebuilds its glyphs."""
    node = path.node()
    if node.getText() != text:
        node.setText(text)


def set_text_color(path: NodePath, color) -> None:
    node = path.node()
    if tuple(node.getTextColor()) != tuple(float(c) for c in color):
        node.setTextColor(*color)


def bake_text(parent: NodePath, keep=(), draw_after_transparent: bool = False,
              name: str = "baked-text") -> NodePath:
    """Merge the TextNodes directly under `parent`, except those in `keep`, into few Geoms.

    Each TextNode is a draw call of its own. Baked into plain geometry, text that shares a
    font page draws as one Geom, with its colour moved into the vertices. Baked text can no
    longer change, so pass every text that set_text() will rewrite in `keep`. The merged node
    is attached last under `parent`, so in the "unsorted" bin it draws after its siblings.
    In 3D, the transparent bin sorts the merged node by its centre and could draw it under a
    nearby translucent quad, so `draw_after_transparent` moves it to the start of the fixed bin.
    """
    holder = parent.attachNewNode(name)
    if draw_after_transparent:
        holder.setBin("fixed", 0)
    for path in parent.getChildren():
        if not isinstance(path.node(), TextNode) or path in keep:
            continue
        baked = holder.attachNewNode(path.node().generate())
        baked.setTransform(path.getTransform())
        baked.setState(path.getState())
        path.detachNode()
    holder.flattenStrong()
    return holder


class BakedText:
    """Texts that change now and then, drawn as one merged Geom per font page and render state.

    The TextNodes are detached and only serve as the source: change them with set_text(),
    set_text_color(), setPos() or hide(), then call rebake(). Each text's glyph quads are kept
    as NumPy arrays until its string, colour, transform or visibility changes, so a rebake
    generates only the texts that changed and concatenates the rest. Static texts can
    therefore share the merged Geom of changing ones at little cost.

    The holder node stays where it was attached, so in the "unsorted" bin it draws after the
    siblings attached before it. `draw_after_transparent` puts it at the start of the fixed bin,
    for the same reason as in bake_text().
    """

    def __init__(self, parent: NodePath, texts, name: str = "rebaked-text",
                 draw_after_transparent: bool = False):
        self.parent = parent
        self.name = name
        self.holder = parent.attachNewNode(name)
        if draw_after_transparent:
            self.holder.setBin("fixed", 0)
        self.geom_node = GeomNode(name)
        self.holder.attachNewNode(self.geom_node)
        self.texts: list[NodePath] = []
        # (text, colour) of every source as last drawn, and everything that decides its quads.
        self.drawn: list[tuple] | None = None
        self.drawn_keys: list[tuple] | None = None
        self.meshes: dict = {}
        self.set_texts(texts)

    def set_texts(self, texts) -> None:
        """Replace the source texts, detaching them from the scene graph, and rebake."""
        self.texts = list(texts)
        for path in self.texts:
            path.detachNode()
        self.rebake()

    def rebake(self) -> None:
        """Rebuild the merged Geom if any text changed since the last call."""
        keys = [_text_key(path) for path in self.texts]
        if keys == self.drawn_keys:
            return
        self.drawn_keys = keys
        self.drawn = [(key[0], key[1]) for key in keys]

        meshes = {}
        groups: dict = {}
        for path, key in zip(self.texts, keys):
            if key[-1]:
                continue
            mesh = meshes.get(key)
            if mesh is None:
                mesh = self.meshes.get(key)
            if mesh is None:
                mesh = text_mesh(path)
            meshes[key] = mesh
            for state, arrays in mesh:
                groups.setdefault(state, []).append(arrays)
        # Only the meshes drawn now stay cached, so texts that went away free their arrays.
        self.meshes = meshes

        self.geom_node.removeAllGeoms()
        for state, parts in groups.items():
            self.geom_node.addGeom(_merged_geom(self.name, parts), state)


def drawn_geom_count(root: NodePath) -> int:
    """Count the Geoms under `root` that draw, each a draw call: visible GeomNodes and TextNodes.

    A DirectGUI widget (PGItem) draws the geometry of its current state, which lives outside
    the scene graph, so that is counted too. Hidden subtrees are skipped and frustum culling is
    not considered.
    """
    if root.isEmpty() or root.isHidden():
        return 0
    node = root.node()
    count = 0
    if isinstance(node, GeomNode):
        count += node.getNumGeoms()
    elif isinstance(node, TextNode):
        generated = NodePath(node.generate())
        count += sum(path.node().getNumGeoms() for path in generated.findAllMatches("**/+GeomNode"))
    elif isinstance(node, PGItem):
        count += drawn_geom_count(node.getStateDef(node.getState()))
    return count + sum(drawn_geom_count(child) for child in root.getChildren())


def _float_columns_format(*columns) -> GeomVertexFormat:
    """Return a registered format that keeps each (name, components, contents) column in an array of its own.

    Separate arrays let NumPy rewrite one column, e.g. only the colours, in a single copy.
    """
    layout = GeomVertexFormat()
    for name, components, contents in columns:
        array = GeomVertexArrayFormat()
        array.addColumn(name, components, Geom.NT_float32, contents)
        layout.addArray(array)
    return GeomVertexFormat.registerFormat(layout)


POSITION_COLUMN = (InternalName.getVertex(), 3, Geom.C_point)
COLOR_COLUMN = (InternalName.getColor(), 4, Geom.C_color)
TEXCOORD_COLUMN = (InternalName.getTexcoord(), 2, Geom.C_texcoord)
# Positions and float RGBA colours.
SPLIT_FORMAT = _float_columns_format(POSITION_COLUMN, COLOR_COLUMN)


# Positions and texture coordinates.
CARD_FORMAT = _float_columns_format(POSITION_COLUMN, TEXCOORD_COLUMN)


def _write(vdata: GeomVertexData, array_index: int, values: np.ndarray) -> None:
    values = np.ascontiguousarray(values, dtype=np.float32)
    vdata.modifyArray(array_index).modifyHandle().copyDataFrom(values)


def _broadcast_colors(colors, count: int, per_item: int) -> np.ndarray:
    """Expand one RGBA, or one per item (count, 4), to one per vertex (count * per_item, 4)."""
    colors = np.asarray(colors, dtype=np.float32)
    if colors.ndim == 1:
        colors = np.broadcast_to(colors, (count, 4))
    return np.repeat(colors, per_item, axis=0)


class BillboardText:
    """Camera-facing texts drawn as one Geom per font page instead of one billboard node each.

    Each text turns about its own origin exactly as NodePath.setBillboardPointEye() would turn
    it: its plane parallel to the camera's image plane, its up along the camera's up. That
    rotation depends only on the camera's orientation, so it is the same for every text, and a
    cull callback rewrites the vertices only when the camera has turned. add() takes a TextNode
    path placed with setPos() and setScale(); change its text with set_text() and call
    rebake(). The source TextNodes stay in the scene graph under a hidden node, so a search
    for TextNodes still finds the labels.

    NOTE: the vertices follow the last camera that culled the node, so two cameras with
    different headings in one frame would both see the second camera's rotation.
    """

    def __init__(self, parent: NodePath, name: str = "billboard-text"):
        # Only a CallbackNode takes a cull callback, and it gets the same model-view as its child.
        callback_node = CallbackNode(name)
        callback_node.setCullCallback(PythonCallbackObject(self._face_camera))
        self.path = parent.attachNewNode(callback_node)
        self.node = GeomNode(name)
        self.path.attachNewNode(self.node)
        self.sources = self.path.attachNewNode("sources")
        self.sources.hide()
        self.texts: list[NodePath] = []
        self.drawn_keys: list[tuple] | None = None
        # Per Geom: (label-local positions (n, 3) already scaled, origins (n, 3)).
        self.layouts: list[tuple[np.ndarray, np.ndarray]] = []
        self.rotation: np.ndarray | None = None

    def add(self, path: NodePath) -> NodePath:
        path.reparentTo(self.sources)
        self.texts.append(path)
        self.rebake()
        return path

    def rebake(self) -> None:
        """Rebuild the Geoms if any text, colour, position or scale changed since the last call."""
        keys = [_text_key(path) for path in self.texts]
        if keys == self.drawn_keys:
            return
        self.drawn_keys = keys

        groups: dict = {}
        for path, key in zip(self.texts, keys):
            if key[-1]:
                continue
            scale = np.array(tuple(path.getScale()), dtype=np.float32)
            origin = np.array(tuple(path.getPos()), dtype=np.float32)
            for state, (positions, colors, uvs, indices) in text_mesh(path, local=True):
                origins = np.broadcast_to(origin, positions.shape)
                groups.setdefault(state, []).append((positions * scale, colors, uvs, indices, origins))

        self.node.removeAllGeoms()
        self.layouts = []
        for state, parts in groups.items():
            self.node.addGeom(_merged_geom(self.node.getName(), [part[:4] for part in parts]), state)
            self.layouts.append((np.concatenate([part[0] for part in parts]),
                                 np.concatenate([part[4] for part in parts])))
        self.rotation = None

    def face(self, rotation: np.ndarray) -> None:
        """Turn every text by the (3, 3) row-vector rotation whose rows are its right, forward and up."""
        if self.rotation is not None and np.array_equal(rotation, self.rotation):
            return
        self.rotation = rotation
        for index, (local, origins) in enumerate(self.layouts):
            vdata = self.node.modifyGeom(index).modifyVertexData()
            _write(vdata, 0, origins + local @ rotation)

    def _face_camera(self, callback_data) -> None:
        modelview = callback_data.getData().getModelviewTransform(callback_data.getTrav())
        if not modelview.isSingular():
            self.face(billboard_rotation(modelview.getMat()))
        callback_data.upcall()


def billboard_rotation(modelview) -> np.ndarray:
    """Return the rotation a point-eye billboard gets under the given model-view matrix.

    As in Panda3D's BillboardEffect.compute_billboard(), the camera's forward and up axes are
    expressed in the node's space and look_at() builds rows right, forward and up from them
    (Z-up, right-handed coordinates).
    """
    matrix = np.array(modelview, dtype=np.float64).reshape(4, 4)[:3, :3]
    to_node = np.linalg.inv(matrix)
    forward = to_node[1] / np.linalg.norm(to_node[1])
    right = np.cross(forward, to_node[2])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return np.stack([right, forward, up]).astype(np.float32)


# Positions, float RGBA colours and texture coordinates.
TEXTURED_FORMAT = _float_columns_format(POSITION_COLUMN, COLOR_COLUMN, TEXCOORD_COLUMN)


def _text_key(path: NodePath) -> tuple:
    """Return everything that decides a text's glyph quads. The last item is whether it is hidden."""
    node = path.node()
    shadow = (tuple(node.getShadow()), tuple(node.getShadowColor())) if node.hasShadow() else None
    # Only the text's own hide() counts, not that of the node that keeps BillboardText's sources.
    hidden_ancestor = path.getHiddenAncestor()
    hidden = not hidden_ancestor.isEmpty() and hidden_ancestor == path
    return (node.getText(), tuple(node.getTextColor()), node.getAlign(), shadow, node.getFont(),
            path.getTransform(), path.getState(), hidden)


def text_mesh(path: NodePath, local: bool = False) -> list[tuple]:
    """Return a text's glyph quads as [(state, (positions, colours, uvs, indices)), ...].

    There is one entry per font page the text uses. Positions (n, 3) are in the parent's
    space, or in the text's own unscaled space when `local` is true. Colours (n, 4) are
    folded into the vertices, so every state ends in a vertex ColorAttrib, and `indices` (m,)
    lists the triangles' corners.
    """
    wrapper = NodePath("text-mesh")
    generated = wrapper.attachNewNode(path.node().generate())
    if not local:
        generated.setTransform(path.getTransform())
    generated.setState(path.getState())
    # Flattening merges a text's glyphs per page and applies its transform to the vertices.
    wrapper.flattenStrong()

    mesh = []
    for geom_path in wrapper.findAllMatches("**/+GeomNode"):
        node = geom_path.node()
        matrix = np.array(geom_path.getMat(wrapper), dtype=np.float32).reshape(4, 4)
        net_state = geom_path.getState(wrapper)
        for index in range(node.getNumGeoms()):
            state = net_state.compose(node.getGeomState(index))
            arrays, state = _geom_arrays(node.getGeom(index), state)
            positions = arrays[0] @ matrix[:3, :3] + matrix[3, :3]
            mesh.append((state, (positions, *arrays[1:])))
    return mesh


def _geom_arrays(geom: Geom, state: RenderState) -> tuple[tuple, RenderState]:
    """Read a textured triangle Geom into NumPy arrays, with its colour moved into the vertices."""
    source = geom.getVertexData()
    has_colors = source.hasColumn(InternalName.getColor())
    vdata = source.convertTo(TEXTURED_FORMAT)
    positions = np.frombuffer(vdata.getArray(0), dtype=np.float32).reshape(-1, 3).copy()
    uvs = np.frombuffer(vdata.getArray(2), dtype=np.float32).reshape(-1, 2).copy()

    colors = np.ones((len(positions), 4), dtype=np.float32)
    color_attrib = state.getAttrib(ColorAttrib)
    if color_attrib is not None and color_attrib.getColorType() == ColorAttrib.T_flat:
        colors[:] = tuple(color_attrib.getColor())
    elif has_colors and (color_attrib is None or color_attrib.getColorType() == ColorAttrib.T_vertex):
        colors[:] = np.frombuffer(vdata.getArray(1), dtype=np.float32).reshape(-1, 4)
    scale_attrib = state.getAttrib(ColorScaleAttrib)
    if scale_attrib is not None and scale_attrib.hasScale():
        colors *= np.array(tuple(scale_attrib.getScale()), dtype=np.float32)
    state = state.removeAttrib(ColorScaleAttrib).setAttrib(ColorAttrib.makeVertex())

    indices = []
    for primitive_index in range(geom.getNumPrimitives()):
        triangles = geom.getPrimitive(primitive_index).decompose()
        indices.append(np.array(triangles.getVertexList(), dtype=np.uint32))
    indices = np.concatenate(indices) if indices else np.zeros(0, dtype=np.uint32)
    return (positions, colors, uvs, indices), state


def _merged_geom(name: str, parts) -> Geom:
    """Concatenate [(positions, colours, uvs, indices), ...] into one indexed triangle Geom."""
    offsets = np.cumsum([0] + [len(part[0]) for part in parts[:-1]])
    positions = np.concatenate([part[0] for part in parts])
    indices = np.concatenate([part[3] + offset for part, offset in zip(parts, offsets)]).astype(np.uint32)

    vdata = GeomVertexData(name, TEXTURED_FORMAT, Geom.UHStatic)
    vdata.uncleanSetNumRows(len(positions))
    _write(vdata, 0, positions)
    _write(vdata, 1, np.concatenate([part[1] for part in parts]))
    _write(vdata, 2, np.concatenate([part[2] for part in parts]))

    triangles = GeomTriangles(Geom.UHStatic)
    triangles.setIndexType(Geom.NTUint32)
    index_array = triangles.modifyVertices()
    index_array.uncleanSetNumRows(len(indices))
    index_array.modifyHandle().copyDataFrom(indices)
    geom = Geom(vdata)
    geom.addPrimitive(triangles)
    return geom


def _quad_triangles(count: int) -> GeomTriangles:
    """Return two triangles for each of `count` quads whose 4 corners are consecutive vertices.

    Corners go counter-clockwise seen from -Y, so the front faces a camera looking along +Y.
    """
    triangles = GeomTriangles(Geom.UHStatic)
    triangles.setIndexType(Geom.NTUint32)
    for corner in range(0, 4 * count, 4):
        triangles.addVertices(corner, corner + 1, corner + 2)
        triangles.addVertices(corner, corner + 2, corner + 3)
    return triangles


def _attach_geom(parent: NodePath, name: str, vdata: GeomVertexData, primitive) -> NodePath:
    """Attach a GeomNode named `name` under `parent` that draws `primitive` over `vdata`."""
    geom = Geom(vdata)
    geom.addPrimitive(primitive)
    node = GeomNode(name)
    node.addGeom(geom)
    return parent.attachNewNode(node)


class QuadBatch:
    """`count` axis-aligned rectangles in the XZ plane, drawn as one Geom.

    Rectangles draw in index order, so within a batch a later rectangle is blended over an
    earlier one. part() hands out a range of rectangles that one owner places and colours.
    """

    def __init__(self, parent: NodePath, count: int, name: str = "quads", y: float = 0.0,
                 transparent: bool = True):
        self.count = count
        self.y = y
        # Copies of what the Geom holds, so that writing one part rewrites the rest unchanged.
        self.corners = np.zeros((count, 4, 3), dtype=np.float32)
        self.vertex_colors = np.ones((4 * count, 4), dtype=np.float32)
        # What write_changed() last wrote: (count, 4) boxes and colours, None before its first call.
        self.written_boxes: np.ndarray | None = None
        self.written_colors: np.ndarray | None = None
        self.vdata = GeomVertexData(name, SPLIT_FORMAT, Geom.UHDynamic)
        self.vdata.uncleanSetNumRows(4 * count)

        self.path = _attach_geom(parent, name, self.vdata, _quad_triangles(count))
        # Opaque batches skip the back-to-front sorted transparent bin, so their draw order
        # does not depend on the camera position.
        if transparent:
            self.path.setTransparency(TransparencyAttrib.MAlpha)
        self.path.setTwoSided(True)

        self.set_rects(np.zeros(count), np.zeros(count), np.zeros(count), np.zeros(count))
        self.set_colors((1, 1, 1, 1))

    def set_rects(self, x0, z0, x1, z1, y=None) -> None:
        """Place rectangle i between corners (x0[i], z0[i]) and (x1[i], z1[i]).

        `y` (scalar or per rectangle) overrides the batch's depth. A smaller y is nearer a
        camera looking along +Y, which keeps overlapping rectangles from z-fighting.
        """
        self.place(0, self.count, x0, z0, x1, z1, y)

    def set_colors(self, colors) -> None:
        """Colour every rectangle with one RGBA, or each with its row of a (count, 4) array."""
        self.paint(0, self.count, colors)

    def write_changed(self, boxes: np.ndarray, colors: np.ndarray) -> None:
        """Place and colour every rectangle from (count, 4) arrays of (x0, z0, x1, z1) and RGBA.

        Called every frame by widgets that follow the pointer, it rewrites the positions or the
        colours only when they differ from those of the previous call.
        """
        if self.written_boxes is None or not np.array_equal(boxes, self.written_boxes):
            self.set_rects(*np.asarray(boxes).T)
            self.written_boxes = np.array(boxes, dtype=np.float32)
        if self.written_colors is None or not np.array_equal(colors, self.written_colors):
            self.set_colors(colors)
            self.written_colors = np.array(colors, dtype=np.float32)

    def place(self, first: int, count: int, x0, z0, x1, z1, y=None) -> None:
        """Place rectangles first to first + count - 1 as set_rects() places all of them."""
        x0, z0, x1, z1 = (np.broadcast_to(np.asarray(v, dtype=np.float32), (count,))
                          for v in (x0, z0, x1, z1))
        corners = self.corners[first:first + count]
        corners[:, :, 1] = self.y if y is None else np.asarray(y, dtype=np.float32).reshape(-1, 1)
        corners[:, 0, 0], corners[:, 0, 2] = x0, z0
        corners[:, 1, 0], corners[:, 1, 2] = x1, z0
        corners[:, 2, 0], corners[:, 2, 2] = x1, z1
        corners[:, 3, 0], corners[:, 3, 2] = x0, z1
        _write(self.vdata, 0, self.corners)

    def paint(self, first: int, count: int, colors) -> None:
        """Colour rectangles first to first + count - 1 as set_colors() colours all of them."""
        self.vertex_colors[4 * first:4 * (first + count)] = _broadcast_colors(colors, count, 4)
        _write(self.vdata, 1, self.vertex_colors)

    def part(self, first: int, count: int) -> "QuadBatchPart":
        """Return rectangles first to first + count - 1 as a part with its own set_rects() and set_colors()."""
        if first < 0 or first + count > self.count:
            raise ValueError(f"rectangles {first} to {first + count - 1} are outside the batch "
                             f"{self.path.getName()!r} of {self.count}")
        return QuadBatchPart(self, first, count)

    def remove(self) -> None:
        self.path.removeNode()


class QuadBatchPart:
    """Rectangles first to first + count - 1 of a QuadBatch, with the batch's set_rects() and set_colors()."""

    def __init__(self, batch: QuadBatch, first: int, count: int):
        self.batch = batch
        self.first = first
        self.count = count

    def set_rects(self, x0, z0, x1, z1, y=None) -> None:
        self.batch.place(self.first, self.count, x0, z0, x1, z1, y)

    def set_colors(self, colors) -> None:
        self.batch.paint(self.first, self.count, colors)

    @property
    def rects(self) -> np.ndarray:
        """The (count, 4) array of (x0, z0, x1, z1) as placed."""
        corners = self.batch.corners[self.first:self.first + self.count]
        return np.stack([corners[:, 0, 0], corners[:, 0, 2], corners[:, 2, 0], corners[:, 2, 2]], axis=1)


class LineBatch:
    """`count` straight segments in the XZ plane, drawn as one GeomLines."""

    def __init__(self, parent: NodePath, count: int, name: str = "lines", y: float = 0.0,
                 thickness: float = 1.0):
        self.count = count
        self.y = y
        self.vdata = GeomVertexData(name, SPLIT_FORMAT, Geom.UHDynamic)
        self.vdata.uncleanSetNumRows(2 * count)

        lines = GeomLines(Geom.UHStatic)
        lines.setIndexType(Geom.NTUint32)
        for start in range(0, 2 * count, 2):
            lines.addVertices(start, start + 1)
        self.path = _attach_geom(parent, name, self.vdata, lines)
        self.path.setTransparency(TransparencyAttrib.MAlpha)
        self.path.setRenderModeThickness(thickness)

        zeros = np.zeros((count, 2))
        self.set_segments(zeros, zeros)
        self.set_colors((1, 1, 1, 1))

    def set_segments(self, starts, ends, y=None) -> None:
        """Draw segment i from starts[i] to ends[i], both (count, 2) arrays of (x, z).

        `y` (scalar or per segment) overrides the batch's depth, as in QuadBatch.set_rects().
        """
        points = np.empty((self.count, 2, 3), dtype=np.float32)
        points[:, :, 1] = self.y if y is None else np.asarray(y, dtype=np.float32).reshape(-1, 1)
        points[:, 0, 0::2] = np.asarray(starts, dtype=np.float32)
        points[:, 1, 0::2] = np.asarray(ends, dtype=np.float32)
        _write(self.vdata, 0, points)

    def set_colors(self, colors) -> None:
        _write(self.vdata, 1, _broadcast_colors(colors, self.count, 2))

    def remove(self) -> None:
        self.path.removeNode()


def make_polyline(parent: NodePath, xs, zs, color, name: str = "polyline", y: float = 0.0,
                  thickness: float = 2.0) -> NodePath:
    """Build one GeomLinestrip through the points (xs[i], zs[i]) and return its NodePath."""
    points = np.zeros((len(xs), 3), dtype=np.float32)
    points[:, 0] = xs
    points[:, 1] = y
    points[:, 2] = zs

    vdata = GeomVertexData(name, SPLIT_FORMAT, Geom.UHStatic)
    vdata.uncleanSetNumRows(len(points))
    _write(vdata, 0, points)
    _write(vdata, 1, _broadcast_colors(color, len(points), 1))

    strip = GeomLinestrips(Geom.UHStatic)
    strip.addConsecutiveVertices(0, len(points))
    strip.closePrimitive()
    path = _attach_geom(parent, name, vdata, strip)
    path.setRenderModeThickness(thickness)
    return path


def image_texture(pixels: np.ndarray, name: str = "digit") -> Texture:
    """Return a nearest-filtered greyscale texture of an (8, 8) or (64,) image in [0, 1].

    Row 0 of the image is its top, but Panda3D textures start at the bottom row, hence the flip.
    """
    texture = Texture(name)
    update_image_texture(texture, pixels)
    texture.setMagfilter(SamplerState.FTNearest)
    texture.setMinfilter(SamplerState.FTNearest)
    texture.setWrapU(SamplerState.WMClamp)
    texture.setWrapV(SamplerState.WMClamp)
    return texture


def update_image_texture(texture: Texture, pixels: np.ndarray) -> None:
    image = np.asarray(pixels, dtype=np.float32).reshape(8, 8)
    grey = (np.clip(image[::-1], 0.0, 1.0) * 255).astype(np.uint8)
    if texture.getXSize() != 8 or texture.getFormat() != Texture.FLuminance:
        texture.setup2dTexture(8, 8, Texture.TUnsignedByte, Texture.FLuminance)
    texture.setRamImage(np.ascontiguousarray(grey).tobytes())


# Each atlas image sits in a slot with a one-texel gutter above and below that repeats its
# edge rows, so a pixel that samples just past the image's edge still gets the image's colour.
ATLAS_SLOT_ROWS = 10


def image_atlas_texture(images: np.ndarray, texture: Texture | None = None, name: str = "digits") -> Texture:
    """Stack (count, 64) or (count, 8, 8) greyscale images in [0, 1] into one 8-texel-wide texture.

    Image i fills texel rows 10 * i + 1 to 10 * i + 8 counted from the bottom, top row last, so
    atlas_uv_rows(i, count) maps a card onto it. The height is the next power of two, which
    Panda3D would otherwise rescale the texture to.
    """
    images = np.clip(np.asarray(images, dtype=np.float32).reshape(-1, 8, 8), 0.0, 1.0)
    height = atlas_height(len(images))
    # Panda3D textures start at the bottom row, so each image is flipped into its slot.
    flipped = (images[:, ::-1] * 255).astype(np.uint8)
    slots = np.concatenate([flipped[:, :1], flipped, flipped[:, -1:]], axis=1)
    grey = np.zeros((height, 8), dtype=np.uint8)
    grey[:ATLAS_SLOT_ROWS * len(images)] = slots.reshape(-1, 8)
    if texture is None:
        texture = Texture(name)
        texture.setMagfilter(SamplerState.FTNearest)
        texture.setMinfilter(SamplerState.FTNearest)
        texture.setWrapU(SamplerState.WMClamp)
        texture.setWrapV(SamplerState.WMClamp)
    if texture.getYSize() != height or texture.getFormat() != Texture.FLuminance:
        texture.setup2dTexture(8, height, Texture.TUnsignedByte, Texture.FLuminance)
    texture.setRamImage(np.ascontiguousarray(grey).tobytes())
    return texture


def atlas_height(count: int) -> int:
    return 1 << max(3, int(np.ceil(np.log2(ATLAS_SLOT_ROWS * max(count, 1)))))


def atlas_uv_rows(index: int, count: int) -> tuple[float, float]:
    """Return (v0, v1), the bottom and top texture coordinates of image `index` of `count`."""
    height = atlas_height(count)
    bottom = ATLAS_SLOT_ROWS * index + 1
    return bottom / height, (bottom + 8) / height


def textured_cards(parent: NodePath, texture: Texture, boxes, uv_boxes, name: str = "cards",
                   colors=None, y=0.0) -> NodePath:
    """Return one Geom of rectangles boxes[i] = (x0, z0, x1, z1) in the XZ plane, each showing
    the part uv_boxes[i] = (u0, v0, u1, v1) of `texture`.

    `colors`, one RGBA or one per rectangle, tints the texture. `y` (scalar or per rectangle)
    sets the depth as in QuadBatch.set_rects(). Rectangles draw in the order given.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    uv_boxes = np.asarray(uv_boxes, dtype=np.float32).reshape(-1, 4)
    count = len(boxes)
    positions = np.zeros((count, 4, 3), dtype=np.float32)
    positions[:, :, 1] = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    uvs = np.empty((count, 4, 2), dtype=np.float32)
    # Corners counter-clockwise from the bottom left, as QuadBatch places them.
    for corner, (x, z) in enumerate(((0, 1), (2, 1), (2, 3), (0, 3))):
        positions[:, corner, 0], positions[:, corner, 2] = boxes[:, x], boxes[:, z]
        uvs[:, corner, 0], uvs[:, corner, 1] = uv_boxes[:, x], uv_boxes[:, z]

    vdata = GeomVertexData(name, CARD_FORMAT if colors is None else TEXTURED_FORMAT, Geom.UHStatic)
    vdata.uncleanSetNumRows(4 * count)
    _write(vdata, 0, positions)
    if colors is None:
        _write(vdata, 1, uvs)
    else:
        _write(vdata, 1, _broadcast_colors(colors, count, 4))
        _write(vdata, 2, uvs)
    cards = _attach_geom(parent, name, vdata, _quad_triangles(count))
    cards.setTexture(texture)
    return cards

def rgb_texture(colors: np.ndarray, texture: Texture | None = None, name: str = "colors") -> Texture:
    """Write an (rows, cols, 3) float RGB array in [0, 1] into a nearest-filtered texture.

    Row 0 of `colors` is drawn at the top.
    """
    rows, cols = colors.shape[:2]
    if texture is None:
        texture = Texture(name)
        texture.setMagfilter(SamplerState.FTNearest)
        texture.setMinfilter(SamplerState.FTNearest)
        texture.setWrapU(SamplerState.WMClamp)
        texture.setWrapV(SamplerState.WMClamp)
    if texture.getXSize() != cols or texture.getYSize() != rows:
        texture.setup2dTexture(cols, rows, Texture.TUnsignedByte, Texture.FRgb)
    # Panda3D stores RGB textures as BGR, bottom row first.
    bgr = (np.clip(colors[::-1, :, ::-1], 0.0, 1.0) * 255).astype(np.uint8)
    texture.setRamImage(np.ascontiguousarray(bgr).tobytes())
    return texture


def textured_card(parent: NodePath, texture: Texture, x0: float, z0: float, x1: float, z1: float,
                  name: str = "card") -> NodePath:
    """Return a rectangle from (x0, z0) to (x1, z1) showing `texture` unstretched across it."""
    maker = CardMaker(name)
    maker.setFrame(x0, x1, z0, z1)
    card = parent.attachNewNode(maker.generate())
    card.setTexture(texture)
    return card


BACKING_QUADS = 5                     # a filled frame and its four border lines


def add_backing(parent: NodePath, box, name: str, color, border_color) -> QuadBatch:
    """Draw a filled frame with a thin border over box = (x0, z0, x1, z1); one Geom."""
    frame = QuadBatch(parent, BACKING_QUADS, name)
    place_backing(frame, box, color, border_color)
    return frame


def place_backing(quads: QuadBatch | QuadBatchPart, box, color, border_color) -> None:
    """Write add_backing()'s frame into the BACKING_QUADS rectangles of a batch or a part of one."""
    x0, z0, x1, z1 = box
    line = 0.004
    quads.set_rects(
        [x0, x0, x0, x1 - line, x0],
        [z0, z1 - line, z0, z0, z0],
        [x1, x1, x0 + line, x1, x1],
        [z1, z1, z1, z1, z0 + line],
    )
    quads.set_colors(np.array([color] + [border_color] * 4))
