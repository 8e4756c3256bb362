"""Settings that keep the explorer's memory down, and the probe's breakdown of resident memory."""

import pytest
from panda3d.core import ConfigVariableString, GeomCacheManager, loadPrcFileData, unloadPrcFile

import game.app as app_module
from bench.explorer_probe import mapping_breakdown
from game.scene import GEOM_CACHE_ENTRIES

SMAPS_SAMPLE = """\
55d7c3222000-55d7c8a3d000 rw-p 00000000 00:00 0                          [heap]
Size:              90220 kB
Rss:               87768 kB
Anonymous:         87768 kB
7f6822f65000-7f6828018000 r-xp 00365000 08:01 1234                       /venv/llvmlite/libllvmlite.so
Size:              82108 kB
Rss:               52364 kB
Anonymous:             0 kB
7f6827f94000-7f682c1b7000 rw-p 05394000 08:01 1234                       /venv/llvmlite/libllvmlite.so
Size:               1024 kB
Rss:                1000 kB
Anonymous:           900 kB
7f67f54d3000-7f67f7800000 rw-p 00000000 00:00 0 
Size:              36016 kB
Rss:               36016 kB
Anonymous:         36016 kB
7f67f4380000-7f67f4600000 rw-p 00000000 00:00 0 
Size:               2560 kB
Rss:                2464 kB
Anonymous:          2464 kB
"""


def test_breakdown_sums_per_mapping():
    rows = {row["mapping"]: row for row in mapping_breakdown(SMAPS_SAMPLE)}

    library = rows["/venv/llvmlite/libllvmlite.so"]
    assert library["rss_mb"] == pytest.approx((52364 + 1000) * 1024 / 1e6)
    assert library["anonymous_mb"] == pytest.approx(900 * 1024 / 1e6)
    assert rows["[anon]"]["rss_mb"] == pytest.approx((36016 + 2464) * 1024 / 1e6)
    assert rows["[heap]"]["anonymous_mb"] == pytest.approx(87768 * 1024 / 1e6)


def test_breakdown_ranks_largest_first():
    rows = mapping_breakdown(SMAPS_SAMPLE, top=2)

    assert [row["mapping"] for row in rows] == ["[heap]", "/venv/llvmlite/libllvmlite.so"]


def test_open_window_keeps_render_targets_unpadded(monkeypatch):
    pages = []

    def load_and_keep(name, text):
        pages.append(loadPrcFileData(name, text))

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(app_module, "ShowBase", lambda *args, **kwargs: "base")
    monkeypatch.setattr(app_module, "loadPrcFileData", load_and_keep)
    try:
        assert app_module.open_window(app_module.ExplorerSettings()) == "base"
        assert ConfigVariableString("textures-power-2").getValue() == "none"
    finally:
        # The page would otherwise also configure the windows of later tests.
        for page in pages:
            unloadPrcFile(page)


def test_scene_caps_geom_cache(explorer):
    assert GeomCacheManager.getGlobalPtr().getMaxSize() == GEOM_CACHE_ENTRIES
