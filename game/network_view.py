"""The teacher and the student as 3D node structures, and the input digit that feeds both.

Layers run left to right along +X. Each layer is a grid of neurons in a YZ plane, with
columns along Y and rows along Z. A network's neurons are one point Geom drawn as glowing
sprites and its edges are one line Geom, both recoloured in bulk from NumPy arrays.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from panda3d.core import NodePath, SamplerState, TextNode, Texture

from game.geometry import BulkGeom, make_additive, make_sprites, premultiplied_rgba8
from game.widgets import BillboardText, textured_cards

log = logging.getLogger(__name__)

NEURON_SPACING = 0.42
# (columns along Y, rows along Z) per layer width; other widths get a near-square grid.
GRID_SHAPES = {64: (8, 8), 128: (16, 8), 16: (4, 4), 10: (1, 10)}

POSITIVE_COLOR = np.array([1.0, 0.52, 0.16], dtype=np.float32)
NEGATIVE_COLOR = np.array([0.2, 0.58, 1.0], dtype=np.float32)
SIGNAL_COLOR = np.array([1.0, 0.95, 0.85], dtype=np.float32)
IDLE_NEURON_COLOR = np.array([0.13, 0.17, 0.27], dtype=np.float32)
IDLE_NEURON_ALPHA = 0.5
INPUT_TINT = (0.62, 0.7, 0.85)

# Edge alpha = EDGE_ALPHA * density * (|w| / scale) ** EDGE_GAMMA, where scale is the layer's
# EDGE_SCALE_PERCENTILE of |w| and density = min(1, (DENSITY_REFERENCE_EDGES / edges in the
# layer) ** DENSITY_EXPONENT). Edges add up where they overlap, so without the density
# factor the 16,384 edges between the teacher's hidden layers would merge into a white slab.
# The gamma lets the strongest connections carry the picture.
EDGE_ALPHA = 0.55
EDGE_GAMMA = 2.5
EDGE_SCALE_PERCENTILE = 99.5
DENSITY_REFERENCE_EDGES = 700
DENSITY_EXPONENT = 0.8
# Extra alpha on edges that carry the current input's signal (|w| * source activation),
# while the input pulse crosses them and, weaker, afterwards.
SIGNAL_FLASH_ALPHA = 0.9
SIGNAL_STEADY_ALPHA = 0.14
SIGNAL_GAMMA = 2.0

NEURON_SIZE = 0.13
NEURON_ACTIVE_SIZE = 0.32
HALO_SCALE = 3.0
HALO_ALPHA = 0.3
HALO_ALPHA_WITH_BLOOM = 0.05
# Displayed intensities approach their targets with this rate (1/s).
NEURON_EASE_RATE = 9.0

TITLE_SCALE = 0.72
LAYER_LABEL_SCALE = 0.52     # the largest at which the teacher's labels keep a gap in the overview
LABEL_COLOR = (0.82, 0.88, 1.0, 1.0)

INPUT_CARD_SIZE = 4.2
INPUT_BORDER_WIDTH = 0.12
INPUT_BORDER_COLOR = (0.35, 0.45, 0.7, 1.0)
INPUT_FEED_ALPHA = 0.35
# The digit texture is 16 x 8 texels: the image in columns 0 to 7 and white in columns 10 to
# 15, which the border samples so that card and border share one textured Geom. Columns 8 and
# 9 repeat the image's right column, so pixels on the image's right edge that sample just past
# it still get the image's colour.
INPUT_TEXTURE_WIDTH = 16
BORDER_UV = (0.8, 0.5)


def grid_shape(width: int) -> tuple[int, int]:
    """Return (columns, rows) of the neuron grid for a layer of `width` neurons."""
    if width in GRID_SHAPES:
        return GRID_SHAPES[width]
    columns = math.ceil(math.sqrt(width))
    return columns, math.ceil(width / columns)


def layer_positions(width: int, x: float, z_center: float, spacing: float = NEURON_SPACING) -> np.ndarray:
    """Return (width, 3) positions of a layer's neurons, neuron k at row k // columns.

    Column order runs along -Y, so a row reads left to right when seen from the input side.
    """
    columns, rows = grid_shape(width)
    k = np.arange(width)
    column, row = k % columns, k // columns
    positions = np.empty((width, 3), dtype=np.float32)
    positions[:, 0] = x
    positions[:, 1] = -(column - (columns - 1) / 2.0) * spacing
    positions[:, 2] = z_center + ((rows - 1) / 2.0 - row) * spacing
    return positions


def layer_density(n_edges: int) -> float:
    """Return the alpha factor that keeps a layer of n_edges overlapping edges from saturating."""
    return min(1.0, (DENSITY_REFERENCE_EDGES / max(n_edges, 1)) ** DENSITY_EXPONENT)


def weight_colors(weights: np.ndarray) -> np.ndarray:
    """Return (n_in * n_out, 4) float edge colours for W (n_in, n_out): hue by sign, alpha by |w|."""
    flat = weights.reshape(-1)
    magnitude = np.abs(flat)
    scale = max(float(np.percentile(magnitude, EDGE_SCALE_PERCENTILE)), 1e-8)
    colors = np.empty((flat.size, 4), dtype=np.float32)
    colors[:, :3] = np.where(flat[:, None] >= 0, POSITIVE_COLOR, NEGATIVE_COLOR)
    density = layer_density(flat.size)
    colors[:, 3] = EDGE_ALPHA * density * np.minimum(magnitude / scale, 1.0) ** EDGE_GAMMA
    return colors


def normalise(values: np.ndarray) -> np.ndarray:
    """Scale non-negative values so the largest is 1 (all zeros stay zero)."""
    peak = float(np.max(values)) if values.size else 0.0
    return values / peak if peak > 1e-12 else np.zeros_like(values)


def make_label(labels: BillboardText, text: str, position, scale: float, font=None,
               color=LABEL_COLOR, align=TextNode.ACenter) -> NodePath:
    """Add a camera-facing text label to `labels` and return its source text path."""
    node = TextNode("label")
    node.setText(text)
    node.setAlign(align)
    node.setTextColor(*color)
    node.setShadow(0.05, 0.05)
    node.setShadowColor(0, 0, 0, 0.8)
    if font is not None:
        node.setFont(font)
    path = NodePath(node)
    path.setPos(*position)
    path.setScale(scale)
    return labels.add(path)


def billboard_labels(parent: NodePath, name: str) -> BillboardText:
    """Return an empty set of camera-facing labels, drawn unlit over the glowing neurons."""
    labels = BillboardText(parent, name)
    labels.path.setLightOff(1)
    labels.path.setDepthWrite(False)
    labels.path.setBin("fixed", 40)
    return labels


class NetworkView:
    """One MLP drawn as layers of glowing neurons joined by weight-coloured edges.

    `sizes` are the layer widths, input first. Layers are spread evenly from x_start to x_end
    at height z_center, with neurons `hidden_spacing` apart in the hidden layers. Call
    set_weights() after the weights change, set_activations() after the input changes and
    update(dt) once per frame.
    """

    def __init__(self, parent: NodePath, name: str, sizes, x_start: float, x_end: float,
                 z_center: float, tint, glow: Texture, bloom: bool = False, font=None,
                 neuron_scale: float = 1.0, hidden_spacing: float = NEURON_SPACING):
        self.name = name
        self.sizes = tuple(int(n) for n in sizes)
        self.tint = np.asarray(tint, dtype=np.float32)
        self.root = parent.attachNewNode(f"{name}-network")
        self.z_center = z_center
        self.neuron_scale = neuron_scale

        depth = len(self.sizes) - 1
        self.layer_x = np.linspace(x_start, x_end, len(self.sizes)).astype(np.float32)
        # Hidden layers may spread wider than the input and output layers, so that a small
        # layer's grid stays apart when its glowing neurons are seen at an angle.
        spacings = [NEURON_SPACING] + [hidden_spacing] * (len(self.sizes) - 2) + [NEURON_SPACING]
        self.layer_positions = [
            layer_positions(width, x, z_center, spacing)
            for width, x, spacing in zip(self.sizes, self.layer_x, spacings)
        ]
        self.positions = np.concatenate(self.layer_positions)
        self.layer_starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n_neurons = int(self.layer_starts[-1])

        self.edge_counts = [n_in * n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.edge_starts = np.concatenate([[0], np.cumsum(self.edge_counts)]).astype(np.int64)
        self.n_edges = int(self.edge_starts[-1])

        self.edges = BulkGeom(f"{name}-edges", "lines", 2 * self.n_edges)
        self.edges.write_positions(self._edge_endpoints())
        self.edge_path = self.edges.attach(self.root)
        make_additive(self.edge_path)

        self.neurons = BulkGeom(f"{name}-neurons", "points", self.n_neurons, with_size=True)
        self.neurons.write_positions(self.positions)
        self.neuron_path = self.neurons.attach(self.root)
        make_additive(self.neuron_path)
        make_sprites(self.neuron_path, glow)
        self.neuron_path.setBin("fixed", 30)

        self.halo = BulkGeom(f"{name}-halo", "points", self.n_neurons, with_size=True)
        self.halo.write_positions(self.positions)
        self.halo_path = self.halo.attach(self.root)
        make_additive(self.halo_path)
        make_sprites(self.halo_path, glow)
        self.halo_path.setBin("fixed", 25)
        self.halo_alpha = HALO_ALPHA
        self.set_bloom(bloom)

        # Per-neuron intensities in [0, 1]: target from the activations, shown eases toward it.
        self.target_intensity = np.zeros(self.n_neurons, dtype=np.float32)
        self.shown_intensity = np.zeros(self.n_neurons, dtype=np.float32)
        # Per-layer reveal (how far the input pulse has lit each layer) and per-transition
        # flash (the pulse crossing that layer's edges), both in [0, 1].
        self.layer_reveal = np.ones(len(self.sizes), dtype=np.float32)
        self.edge_flash = np.zeros(depth, dtype=np.float32)
        self.weight_rgba = np.zeros((self.n_edges, 4), dtype=np.float32)
        self.weight_magnitudes: list[np.ndarray] = []  # |W| per layer, (n_in, n_out)
        self.edge_signal = np.zeros(self.n_edges, dtype=np.float32)
        self.activations = [np.zeros(n, dtype=np.float32) for n in self.sizes]
        # Premultiplied RGBA8 of both vertices of every edge, (n_edges, 2, 4), as last written.
        # Only the transitions marked stale are recomputed, since the input pulse lights one
        # transition at a time.
        self.edge_vertex_rgba = np.zeros((self.n_edges, 2, 4), dtype=np.uint8)
        self.stale_transitions = np.ones(depth, dtype=bool)
        self.edges_dirty = True

        self.labels = billboard_labels(self.root, f"{name}-labels")
        self._add_layer_labels(font)
        log.info("built %s view: %d neurons, %d edges", name, self.n_neurons, self.n_edges)

    # --- geometry -------------------------------------------------------------------------

    def _edge_endpoints(self) -> np.ndarray:
        """Return (2 * n_edges, 3) positions: edge (i, j) of each layer in W's row-major order."""
        ends = np.empty((self.n_edges, 2, 3), dtype=np.float32)
        for layer, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            block = ends[self.edge_starts[layer]:self.edge_starts[layer + 1]].reshape(n_in, n_out, 2, 3)
            block[:, :, 0] = self.layer_positions[layer][:, None, :]
            block[:, :, 1] = self.layer_positions[layer + 1][None, :, :]
        return ends.reshape(-1, 3)

    def _add_layer_labels(self, font) -> None:
        last = len(self.sizes) - 1
        for layer, (width, x) in enumerate(zip(self.sizes, self.layer_x)):
            bottom = float(self.layer_positions[layer][:, 2].min())
            kind = "ReLU"
            if layer == 0:
                kind = "inputs"
            elif layer == last:
                kind = "logits"
            make_label(self.labels, f"{width} {kind}", (float(x), 0.0, bottom - 0.75),
                       LAYER_LABEL_SCALE, font, color=(0.6, 0.68, 0.85, 1.0))

    def add_title(self, text: str, position, font=None) -> NodePath:
        return make_label(self.labels, text, position, TITLE_SCALE, font)

    @property
    def top(self) -> float:
        return float(self.positions[:, 2].max())

    @property
    def bottom(self) -> float:
        return float(self.positions[:, 2].min())

    # --- state from the simulation ----------------------------------------------------------

    def set_bloom(self, bloom: bool) -> None:
        """Dim the additive halo when the bloom filter already spreads the glow."""
        self.halo_alpha = HALO_ALPHA_WITH_BLOOM if bloom else HALO_ALPHA

    def set_weights(self, layers) -> None:
        """Recolour every edge from [(W, b), ...] as MLP.layers() returns them."""
        for layer, (weights, _) in enumerate(layers):
            start, end = self.edge_starts[layer], self.edge_starts[layer + 1]
            self.weight_rgba[start:end] = weight_colors(weights)
        self.weight_magnitudes = [np.abs(weights) for weights, _ in layers]
        self._update_signal()
        self.stale_transitions[:] = True
        self.edges_dirty = True

    def set_activations(self, activations, output_intensity: np.ndarray | None = None) -> None:
        """Set the glow targets from per-layer activations (input first, logits last).

        Each layer is normalised to its own maximum. `output_intensity` replaces the logits'
        glow, e.g. with the output probabilities at the current temperature.
        """
        intensities = []
        for layer, values in enumerate(activations):
            values = np.asarray(values, dtype=np.float32)
            if layer == len(activations) - 1:
                values = output_intensity if output_intensity is not None else values - values.min()
            intensities.append(normalise(np.maximum(np.asarray(values, dtype=np.float32), 0.0)))
        self.activations = intensities
        self.target_intensity = np.concatenate(intensities).astype(np.float32)
        self._update_signal()
        self.stale_transitions[:] = True
        self.edges_dirty = True

    def _update_signal(self) -> None:
        """Recompute each edge's share of the signal it carries: |w_ij| * a_i, per layer."""
        for layer, magnitude in enumerate(self.weight_magnitudes):
            start, end = self.edge_starts[layer], self.edge_starts[layer + 1]
            carried = magnitude * self.activations[layer][:, None]
            density = layer_density(carried.size)
            self.edge_signal[start:end] = density * normalise(carried.reshape(-1)) ** SIGNAL_GAMMA

    def set_pulse(self, layer_reveal: np.ndarray, edge_flash: np.ndarray) -> None:
        """Set how far the input pulse has travelled: per-layer reveal and per-transition flash."""
        layer_reveal = np.asarray(layer_reveal, dtype=np.float32)
        edge_flash = np.asarray(edge_flash, dtype=np.float32)
        changed = edge_flash != self.edge_flash
        if changed.any():
            self.stale_transitions |= changed
            self.edges_dirty = True
        self.layer_reveal = layer_reveal
        self.edge_flash = edge_flash

    # --- per frame --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        ease = 1.0 - math.exp(-NEURON_EASE_RATE * max(dt, 0.0))
        self.shown_intensity += (self.target_intensity - self.shown_intensity) * ease
        self._write_neurons()
        if self.edges_dirty:
            self._write_edges()
            self.edges_dirty = False

    def _write_neurons(self) -> None:
        reveal = np.repeat(self.layer_reveal, self.sizes)
        level = self.shown_intensity * reveal
        tints = np.empty((self.n_neurons, 3), dtype=np.float32)
        tints[:] = self.tint
        tints[:self.sizes[0]] = INPUT_TINT

        colors = np.empty((self.n_neurons, 4), dtype=np.float32)
        colors[:, :3] = IDLE_NEURON_COLOR + (tints - IDLE_NEURON_COLOR) * level[:, None]
        colors[:, 3] = IDLE_NEURON_ALPHA + (1.0 - IDLE_NEURON_ALPHA) * level
        sizes = self.neuron_scale * (NEURON_SIZE + (NEURON_ACTIVE_SIZE - NEURON_SIZE) * level)
        self.neurons.write_colors(premultiplied_rgba8(colors))
        self.neurons.write_sizes(sizes)

        colors[:, 3] = self.halo_alpha * level ** 1.5
        halo_rgba = premultiplied_rgba8(colors)
        # A black halo adds nothing, and at size zero the renderer skips its fill. Most hidden
        # ReLU neurons are off for any one digit (246 of the teacher's 394 for the first one).
        halo_sizes = sizes * HALO_SCALE
        halo_sizes[~halo_rgba[:, :3].any(axis=1)] = 0.0
        self.halo.write_colors(halo_rgba)
        self.halo.write_sizes(halo_sizes)

    def _write_edges(self) -> None:
        stale = np.flatnonzero(self.stale_transitions)
        if stale.size == 0:
            stale = np.arange(len(self.edge_counts))
        for layer in stale:
            start, end = self.edge_starts[layer], self.edge_starts[layer + 1]
            flash = np.clip(self.edge_flash[layer] * SIGNAL_FLASH_ALPHA + SIGNAL_STEADY_ALPHA, 0.0, 1.0)
            heat = self.edge_signal[start:end] * flash

            colors = self.weight_rgba[start:end].copy()
            colors[:, :3] += (SIGNAL_COLOR - colors[:, :3]) * np.minimum(heat * 1.5, 1.0)[:, None]
            colors[:, 3] = np.maximum(colors[:, 3], heat)
            self.edge_vertex_rgba[start:end] = premultiplied_rgba8(colors)[:, None, :]
        self.stale_transitions[:] = False
        self.edges.write_colors(self.edge_vertex_rgba.reshape(-1, 4))

        # About half the edges round to black, and an additive black line changes no pixel.
        # Each RGBA8 colour read as a uint32 has its R, G and B bytes in the low 24 bits on
        # little-endian machines and the high 24 on big-endian ones.
        rgb_bits = 0x00FFFFFF if np.little_endian else 0xFFFFFF00
        first_vertex = self.edge_vertex_rgba.view(np.uint32)[:, 0, 0]
        self.edges.draw_only((first_vertex & rgb_bits) != 0)

    def destroy(self) -> None:
        self.root.removeNode()


def image_texture(image: np.ndarray) -> Texture:
    """Return a 16x8 RGB texture with sharp pixels: a digit (64 values in [0, 1]) beside white."""
    texture = Texture("input-digit")
    texture.setup2dTexture(INPUT_TEXTURE_WIDTH, 8, Texture.T_unsigned_byte, Texture.F_rgb)
    texture.setMagfilter(SamplerState.FT_nearest)
    texture.setMinfilter(SamplerState.FT_nearest)
    texture.setWrapU(SamplerState.WM_clamp)
    texture.setWrapV(SamplerState.WM_clamp)
    write_image(texture, image)
    return texture


def write_image(texture: Texture, image: np.ndarray) -> None:
    """Write a digit into the left 8x8 texels: dark navy for 0, near white for 1."""
    values = np.clip(np.asarray(image, dtype=np.float32).reshape(8, 8), 0.0, 1.0)
    low = np.array([0.04, 0.06, 0.14], dtype=np.float32)
    high = np.array([0.96, 0.98, 1.0], dtype=np.float32)
    rgb = np.ones((8, INPUT_TEXTURE_WIDTH, 3), dtype=np.float32)
    rgb[:, :8] = low + (high - low) * values[..., None]
    rgb[:, 8:10] = rgb[:, 7:8]
    # Panda3D stores RAM images bottom row first, in BGR order.
    bgr = (rgb[::-1, :, ::-1] * 255.0 + 0.5).astype(np.uint8)
    texture.setRamImage(np.ascontiguousarray(bgr).tobytes())


class InputCard:
    """The current digit as an 8x8 image card, with lines from each pixel to both input layers."""

    def __init__(self, parent: NodePath, center, targets: list[np.ndarray], font=None):
        self.root = parent.attachNewNode("input-card")
        self.center = np.asarray(center, dtype=np.float32)
        half = INPUT_CARD_SIZE / 2.0

        self.texture = image_texture(np.zeros(64))
        # The border is drawn first and a little behind the image, in the same Geom.
        rim = half + INPUT_BORDER_WIDTH
        image_u1 = 8 / INPUT_TEXTURE_WIDTH
        self.card = textured_cards(self.root, self.texture, [(-rim, -rim, rim, rim), (-half, -half, half, half)],
                                   [(*BORDER_UV, *BORDER_UV), (0.0, 0.0, image_u1, 1.0)], name="input-digit",
                                   colors=np.array([INPUT_BORDER_COLOR, (1.0, 1.0, 1.0, 1.0)]), y=[0.02, 0.0])
        self.card.setPos(*self.center)
        self.card.setLightOff(1)
        self.card.setTwoSided(True)

        # Pixel k of the card sits at row k // 8, column k % 8, centred on its square.
        k = np.arange(64)
        pixel_size = INPUT_CARD_SIZE / 8.0
        self.pixel_positions = np.empty((64, 3), dtype=np.float32)
        self.pixel_positions[:, 0] = self.center[0] + (k % 8 - 3.5) * pixel_size
        self.pixel_positions[:, 1] = self.center[1] - 0.05
        self.pixel_positions[:, 2] = self.center[2] + (3.5 - k // 8) * pixel_size

        self.targets = targets
        self.feed = BulkGeom("input-feed", "lines", 2 * 64 * len(targets))
        ends = np.empty((len(targets), 64, 2, 3), dtype=np.float32)
        for n, target in enumerate(targets):
            ends[n, :, 0] = self.pixel_positions
            ends[n, :, 1] = target
        self.feed.write_positions(ends.reshape(-1, 3))
        self.feed_path = self.feed.attach(self.root)
        make_additive(self.feed_path)

        self.labels = billboard_labels(self.root, "input-labels")
        self.caption = make_label(self.labels, "", (float(self.center[0]), float(self.center[1]),
                                                    float(self.center[2]) - half - 0.9),
                                  0.5, font)
        self.title = make_label(self.labels, "Input digit", (float(self.center[0]), float(self.center[1]),
                                                             float(self.center[2]) + half + 0.6),
                                0.55, font)

    def set_image(self, image: np.ndarray, caption: str) -> None:
        write_image(self.texture, image)
        values = np.clip(np.asarray(image, dtype=np.float32).reshape(64), 0.0, 1.0)
        colors = np.empty((len(self.targets), 64, 2, 4), dtype=np.float32)
        colors[..., :3] = (0.75, 0.85, 1.0)
        colors[..., 3] = (INPUT_FEED_ALPHA * values ** 1.5)[None, :, None]
        self.feed.write_colors(premultiplied_rgba8(colors.reshape(-1, 4)))
        self.caption.node().setText(caption)
        self.labels.rebake()

    def destroy(self) -> None:
        self.root.removeNode()
