"""The player's Python side: plotly.js served from static/, the step's round trip through component state."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tomllib
from pathlib import Path

import plotly
import pytest

from tracelab.ui import player

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_plotly_js_is_the_installed_packages_own():
    shipped = ROOT / "static" / player.plotly_js_name()
    installed = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert shipped.exists(), f"static/ lacks {shipped.name}: copy {installed} there"
    assert filecmp.cmp(shipped, installed, shallow=False)


def test_static_serving_is_on_and_plotly_is_pinned_to_the_shipped_file():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("plotly")]
    assert pins == [f"plotly=={plotly.__version__}"]


def test_the_browser_keeps_large_elements_long_enough_for_quick_steps():
    # With Streamlit's default (2 runs), a step requested while another run finished could
    # name an element the browser then dropped: the page lost its connection ("Cached
    # ForwardMsg MISS") while stepping quickly. Read as Streamlit reads the project's config.
    out = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; config.get_config_options(force_reparse=True); "
                               "print(config.get_option('global.maxCachedMessageAge'))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert int(out.stdout.strip()) >= 100


def test_a_read_only_app_folder_is_never_written(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(player.shutil, "copyfile", refuse)
    monkeypatch.setattr(player.os, "utime", refuse)
    player._ensure_plotly_js.cache_clear()
    try:
        url = player._ensure_plotly_js()
    finally:
        player._ensure_plotly_js.cache_clear()
    # Relative to the page, so it works under server.baseUrlPath too.
    assert url == f"app/static/{player.plotly_js_name()}"
    assert not url.startswith("/")


def test_the_head_is_merged_into_the_spec_json_without_reparsing():
    import json

    merged = player._with_head({"start": 3, "mount": 1}, '{"labels":["a"],"frames":[0]}')
    assert json.loads(merged) == {"start": 3, "mount": 1, "labels": ["a"], "frames": [0]}


@pytest.mark.parametrize("value", [None, {}, {"step": 4}, {"step": {"step": 4, "mount": 0}}, {"step": {"step": "4", "mount": 1}}])
def test_only_a_report_for_the_current_mount_counts(monkeypatch, value):
    import streamlit as st

    state = {"em-player": value} if value is not None else {}
    monkeypatch.setattr(st, "session_state", state)
    got = player._reported("em", 1)
    assert got is None
    state["em-player"] = {"step": {"step": 4, "mount": 1}}
    assert player._reported("em", 1) == 4


def test_the_shipped_file_is_dated_back_so_browsers_keep_it():
    player._ensure_plotly_js.cache_clear()
    player._ensure_plotly_js()
    shipped = ROOT / "static" / player.plotly_js_name()
    assert shipped.stat().st_mtime <= player._OLD
