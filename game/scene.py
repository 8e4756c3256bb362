"""The stage: background, lights, the floor grid, the font and the glow (bloom or halos).

Bloom uses Panda3D's CommonFilters, which need shader support. Without shaders (the
p3tinydisplay software renderer), when setBloom() returns False, or with `--no-bloom`, the
networks' additive halo sprites give a similar glow without post-processing.
"""

from __future__ import annotations

import logging

import numpy as np
from direct.filter.CommonFilters import CommonFilters
from panda3d.core import AmbientLight, AntialiasAttrib, DirectionalLight, GeomCacheManager, Vec4

from game.geometry import BulkGeom, glow_texture, make_additive, premultiplied_rgba8
from game.widgets import load_font

log = logging.getLogger(__name__)

# Pipes on which CommonFilters' Cg shaders fail to compile (seen with Panda3D 1.10.16, Mesa 22.3).
CG_LESS_PIPES = ("eglGraphicsPipe",)

BACKGROUND_COLOR = (0.012, 0.016, 0.035, 1.0)
AMBIENT_COLOR = (0.35, 0.37, 0.45, 1.0)
KEY_LIGHT_COLOR = (0.85, 0.82, 0.78, 1.0)
KEY_LIGHT_HPR = (-30.0, -45.0, 0.0)

# Bloom settings for CommonFilters.setBloom(): pixels brighter than BLOOM_MIN_TRIGGER start
# to glow; the blend weights pick which colour channels count as brightness.
BLOOM_BLEND = (0.3, 0.4, 0.3, 0.0)
BLOOM_MIN_TRIGGER = 0.55
BLOOM_MAX_TRIGGER = 1.0
BLOOM_DESATURATION = 0.2
BLOOM_INTENSITY = 1.1
BLOOM_SIZE = "medium"

FLOOR_Z = -12.5
FLOOR_EXTENT_X = (-34.0, 34.0)
FLOOR_EXTENT_Y = (-18.0, 30.0)
FLOOR_STEP = 2.0
FLOOR_COLOR = (0.3, 0.42, 0.8, 0.4)

# Panda3D caches a renderer-ready ("munged") copy of each Geom, and every rewrite of a dynamic
# Geom adds an entry. At the default of 5,000 entries the stale copies grew the explorer by
# about 0.14 MB a frame for minutes. One frame needs 36 entries (cache flushed, one frame
# drawn, bloom on), 38 to 41 with one optional panel open and 46 with all of them. A cache
# smaller than that costs CPU time (Geoms munged again each frame), and a larger one keeps stale
# copies: over 15 s of training under Xvfb the peak was about 7 MB lower at 96 than at 128.
GEOM_CACHE_ENTRIES = 96


class Scene:
    """Everything around the networks: clear colour, lights, floor, font, glow sprite, bloom."""

    def __init__(self, base, bloom: bool = True, multisamples: int = 0):
        self.base = base
        GeomCacheManager.getGlobalPtr().setMaxSize(GEOM_CACHE_ENTRIES)
        self.root = base.render.attachNewNode("kd-world")
        base.win.setClearColor(Vec4(*BACKGROUND_COLOR))
        self._add_lights()
        self._add_floor()
        self.font = load_font()
        self.glow = glow_texture()

        self.filters: CommonFilters | None = None
        self.multisamples = 0       # samples per pixel of the bloom scene buffer, 0 when not multisampled
        self.bloom_enabled = self._enable_bloom(multisamples) if bloom else False
        log.info("glow: %s", "bloom filter" if self.bloom_enabled else "additive halos")

    def _add_lights(self) -> None:
        ambient = AmbientLight("ambient")
        ambient.setColor(AMBIENT_COLOR)
        key = DirectionalLight("key")
        key.setColor(KEY_LIGHT_COLOR)
        self.ambient_light = self.root.attachNewNode(ambient)
        self.key_light = self.root.attachNewNode(key)
        self.key_light.setHpr(*KEY_LIGHT_HPR)
        # Only models under `lit` are lit; the glowing parts are unlit vertex colours.
        self.lit = self.root.attachNewNode("lit")
        self.lit.setLight(self.ambient_light)
        self.lit.setLight(self.key_light)

    def _add_floor(self) -> None:
        """Draw a faint grid under the scene so depth and camera motion read at a glance."""
        x_lines = np.arange(FLOOR_EXTENT_X[0], FLOOR_EXTENT_X[1] + 1e-6, FLOOR_STEP)
        y_lines = np.arange(FLOOR_EXTENT_Y[0], FLOOR_EXTENT_Y[1] + 1e-6, FLOOR_STEP)
        segments = []
        for x in x_lines:
            segments += [(x, FLOOR_EXTENT_Y[0], FLOOR_Z), (x, FLOOR_EXTENT_Y[1], FLOOR_Z)]
        for y in y_lines:
            segments += [(FLOOR_EXTENT_X[0], y, FLOOR_Z), (FLOOR_EXTENT_X[1], y, FLOOR_Z)]
        positions = np.array(segments, dtype=np.float32)

        # Lines fade with distance from the centre so the grid has no hard edge.
        distance = np.hypot(positions[:, 0] / FLOOR_EXTENT_X[1], (positions[:, 1] - 6.0) / 24.0)
        colors = np.tile(np.array(FLOOR_COLOR, dtype=np.float32), (len(positions), 1))
        colors[:, 3] *= np.clip(1.15 - distance, 0.0, 1.0)

        self.floor = BulkGeom("floor-grid", "lines", len(positions))
        self.floor.write_positions(positions)
        self.floor.write_colors(premultiplied_rgba8(colors))
        self.floor_path = self.floor.attach(self.root)
        make_additive(self.floor_path)
        self.floor_path.setBin("fixed", 5)

    def _enable_bloom(self, multisamples: int = 0) -> bool:
        gsg = self.base.win.getGsg()
        pipe_name = self.base.pipe.getType().getName()
        if pipe_name in CG_LESS_PIPES:
            # NOTE: CommonFilters writes its shaders in Cg, and on this pipe (Panda3D 1.10.16
            # with Mesa) every one fails with "The profile is not supported", although
            # setBloom() returns True and the scene then shrinks to a corner.
            log.info("bloom unavailable on %s (its Cg shaders do not compile), so neurons glow "
                        "with halos instead; run under xvfb-run for the bloom filter", pipe_name)
            return False
        if gsg is None or not gsg.getSupportsBasicShaders():
            log.warning("bloom unavailable: renderer %s has no shader support, so neurons glow with "
                        "halos instead; for OpenGL run under xvfb-run, or offscreen with EGL "
                        "(Debian package libegl-mesa0)", self.base.pipe.getType().getName())
            return False

        filters = CommonFilters(self.base.win, self.base.cam)
        enabled = filters.setBloom(
            blend=BLOOM_BLEND, mintrigger=BLOOM_MIN_TRIGGER, maxtrigger=BLOOM_MAX_TRIGGER,
            desat=BLOOM_DESATURATION, intensity=BLOOM_INTENSITY, size=BLOOM_SIZE,
        )
        if not enabled:
            log.info("bloom unavailable: CommonFilters.setBloom() failed")
            filters.cleanup()
            return False
        # Multisampling only the scene buffer keeps the lines smooth at a fraction of the cost
        # of multisampling every bloom pass too. setMSAA() exists from Panda3D 1.10.13.
        if multisamples and hasattr(filters, "setMSAA"):
            if filters.setMSAA(multisamples):
                self.multisamples = multisamples
                # The camera state that setMSAA() sets left lines aliased on Mesa 22.3, so
                # the world node sets the multisample attribute itself.
                self.root.setAntialias(AntialiasAttrib.MMultisample)
            else:
                log.info("multisampling unavailable on the bloom filter's scene buffer")
                if not filters.delMSAA():
                    log.info("bloom unavailable: CommonFilters failed to rebuild without multisampling")
                    filters.cleanup()
                    return False
        self.filters = filters
        return True

    def destroy(self) -> None:
        if self.filters is not None:
            self.filters.cleanup()
            self.filters = None
        self.lit.clearLight()
        self.root.removeNode()
