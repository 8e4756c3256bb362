"""Geoms whose vertex columns are rewritten in bulk from NumPy arrays, and the glow sprite.

Each column lives in its own vertex array, so a colour update copies one contiguous block
and never touches the positions.
"""

from __future__ import annotations

import numpy as np
from panda3d.core import (
    ColorBlendAttrib,
    Geom,
    GeomLines,
    GeomNode,
    GeomPoints,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    NodePath,
    OmniBoundingVolume,
    PNMImage,
    SamplerState,
    TexGenAttrib,
    Texture,
    TextureStage,
)

GLOW_TEXTURE_SIZE = 64
# Gaussian falloff of the glow sprite outside its core: alpha = exp(-GLOW_FALLOFF * (r -
# GLOW_CORE)^2), with r = 1 at the sprite's edge.
GLOW_FALLOFF = 5.0
# Radius (as a fraction of the sprite) of the solid core inside the glow.
GLOW_CORE = 0.18

POSITION_ARRAY, COLOR_ARRAY, SIZE_ARRAY = 0, 1, 2


def _column_array(name: InternalName, components: int, numeric_type, contents) -> GeomVertexArrayFormat:
    array = GeomVertexArrayFormat()
    array.addColumn(name, components, numeric_type, contents)
    return array


def bulk_format(with_size: bool) -> GeomVertexFormat:
    """Return a format with position, RGBA8 colour and (optionally) point size, one array each."""
    vertex_format = GeomVertexFormat()
    vertex_format.addArray(_column_array(InternalName.getVertex(), 3, Geom.NT_float32, Geom.C_point))
    vertex_format.addArray(_column_array(InternalName.getColor(), 4, Geom.NT_uint8, Geom.C_color))
    if with_size:
        vertex_format.addArray(_column_array(InternalName.getSize(), 1, Geom.NT_float32, Geom.C_other))
    return GeomVertexFormat.registerFormat(vertex_format)


class BulkGeom:
    """One Geom of points or line segments with columns written from NumPy.

    Lines pair vertices (0, 1), (2, 3), ...; points may carry a per-vertex size in world units.
    """

    def __init__(self, name: str, primitive: str, n_vertices: int, with_size: bool = False):
        if primitive not in ("points", "lines"):
            raise ValueError(f"primitive {primitive!r} is invalid: use 'points' or 'lines'")
        if primitive == "lines" and n_vertices % 2:
            raise ValueError(f"a line Geom needs an even vertex count, got {n_vertices}")

        self.n_vertices = int(n_vertices)
        self.with_size = with_size
        self.vertices_per_item = 1 if primitive == "points" else 2
        self.vdata = GeomVertexData(name, bulk_format(with_size), Geom.UH_dynamic)
        self.vdata.setNumRows(self.n_vertices)

        primitive_data = GeomPoints(Geom.UH_static) if primitive == "points" else GeomLines(Geom.UH_static)
        if self.n_vertices:
            primitive_data.addConsecutiveVertices(0, self.n_vertices)
        self.geom = Geom(self.vdata)
        self.geom.addPrimitive(primitive_data)
        self.node = GeomNode(name)
        self.node.addGeom(self.geom)

    def _write(self, array_index: int, values: np.ndarray, dtype, components: int) -> None:
        values = np.ascontiguousarray(values, dtype=dtype)
        if values.size != self.n_vertices * components:
            raise ValueError(
                f"{self.node.name}: got {values.size} values for array {array_index}, "
                f"expected {self.n_vertices * components}"
            )
        # Written through Geom.modifyVertexData(), so Panda3D sees the Geom as modified.
        vdata = self.geom.modifyVertexData()
        vdata.modifyArray(array_index).modifyHandle().copyDataFrom(values)

    def write_positions(self, positions: np.ndarray) -> None:
        """Write (n, 3) float positions."""
        self._write(POSITION_ARRAY, positions, np.float32, 3)

    def write_colors(self, colors: np.ndarray) -> None:
        """Write (n, 4) RGBA colours as uint8."""
        self._write(COLOR_ARRAY, colors, np.uint8, 4)

    def write_sizes(self, sizes: np.ndarray) -> None:
        """Write (n,) point sizes in world units."""
        if not self.with_size:
            raise ValueError(f"{self.node.name} was built without a size column")
        self._write(SIZE_ARRAY, sizes, np.float32, 1)

    def draw_only(self, visible: np.ndarray) -> None:
        """Draw only the items (points, or line segments) where `visible` (n_items,) is true.

        Hidden items keep their vertices but leave the index list, so the renderer skips them
        instead of blending in a colour of zero. Software renderers gain most from this.

        NOTE: on point sprites sized per vertex, Mesa llvmpipe drew fewer sprites than were
        listed (Panda3D 1.10.16), so only line Geoms use this for now.
        """
        items = np.flatnonzero(visible).astype(np.uint32)
        indices = (items[:, None] * self.vertices_per_item + np.arange(self.vertices_per_item, dtype=np.uint32))
        primitive = self.geom.modifyPrimitive(0)
        primitive.setIndexType(Geom.NT_uint32)
        array = primitive.modifyVertices()
        array.setNumRows(indices.size)
        if indices.size:
            array.modifyHandle().copyDataFrom(np.ascontiguousarray(indices.ravel()))

    def attach(self, parent: NodePath) -> NodePath:
        return parent.attachNewNode(self.node)


def to_rgba8(colors: np.ndarray) -> np.ndarray:
    """Convert float RGBA in [0, 1], shape (n, 4), to uint8."""
    return (np.clip(colors, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def premultiplied_rgba8(colors: np.ndarray) -> np.ndarray:
    """Convert float RGBA (n, 4) to uint8 with RGB scaled by alpha, for additive Geoms."""
    colors = np.array(colors, dtype=np.float32)
    colors[:, :3] *= colors[:, 3:4]
    return to_rgba8(colors)


def make_additive(path: NodePath) -> None:
    """Blend `path` additively, so overlaps brighten. Its colours must be premultiplied.

    The blend adds source colour times one, so the alpha has to be folded into the colour
    before writing (premultiplied_rgba8).

    NOTE: p3tinydisplay (Panda3D 1.10) draws lines without blending: each line replaces the
    pixels under it. In that software renderer the edges overwrite one another instead of
    adding up, so dense layers look darker than on OpenGL.
    """
    path.setAttrib(ColorBlendAttrib.make(
        ColorBlendAttrib.MAdd, ColorBlendAttrib.OOne, ColorBlendAttrib.OOne,
    ))
    path.setDepthWrite(False)
    path.setBin("fixed", 20)
    path.setLightOff(1)


def glow_texture() -> Texture:
    """Build the round sprite: a solid core that fades out with a Gaussian, premultiplied."""
    size = GLOW_TEXTURE_SIZE
    coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    r = np.hypot(coords[:, None], coords[None, :])
    alpha = np.exp(-GLOW_FALLOFF * np.maximum(r - GLOW_CORE, 0.0) ** 2)
    alpha[r >= 1.0] = 0.0

    # Premultiplied: the colour falls off with the alpha, for the (one, one) additive blend.
    image = PNMImage(size, size, 4)
    for y in range(size):
        for x in range(size):
            value = float(alpha[y, x])
            image.setXelA(x, y, value, value, value, value)

    texture = Texture("glow")
    texture.load(image)
    texture.setMinfilter(SamplerState.FT_linear_mipmap_linear)
    texture.setMagfilter(SamplerState.FT_linear)
    texture.setWrapU(SamplerState.WM_clamp)
    texture.setWrapV(SamplerState.WM_clamp)
    return texture


def make_sprites(path: NodePath, texture: Texture) -> None:
    """Draw the points under `path` as camera-facing textured squares sized in world units."""
    path.setRenderModePerspective(True)
    path.setTexGen(TextureStage.getDefault(), TexGenAttrib.MPointSprite)
    path.setTexture(texture)


def never_cull(node) -> None:
    """Skip view-frustum culling for a node whose vertices move every frame."""
    node.setBounds(OmniBoundingVolume())
    node.setFinal(True)
