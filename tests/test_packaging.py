"""Packaging (packaging/): the PyInstaller spec executes with stand-in build classes and asks for a
one-folder app with resources/ and the icon; the .desktop file is valid; ``python -m desktop_app``
works. The real build is a slow test that runs only when asked (see packaging/README.md)."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "interp_studio.spec"


class _Recorder:
    """Stands in for PyInstaller's Analysis/PYZ/EXE/COLLECT: records its arguments."""

    calls: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.pure, self.scripts, self.binaries, self.datas = [], ["script"], [], kwargs.get("datas", [])
        _Recorder.calls.append((type(self).__name__, self))


def run_spec(monkeypatch) -> dict:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda pkg, **kw: [(f"/site/{pkg}/data", pkg)]
    hooks.collect_submodules = lambda pkg, **kw: [pkg, f"{pkg}.sub"]
    hooks.copy_metadata = lambda dist, **kw: [(f"/site/{dist}.dist-info", f"{dist}.dist-info")]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    _Recorder.calls = []
    ns = {name: type(name, (_Recorder,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT")}
    ns.update(SPECPATH=str(SPEC.parent), __file__=str(SPEC), __name__="__main__")
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), ns)
    return {name: obj for name, obj in _Recorder.calls}


def test_spec_builds_a_one_folder_app_with_resources(monkeypatch):
    calls = run_spec(monkeypatch)
    assert set(calls) == {"Analysis", "PYZ", "EXE", "COLLECT"}
    a = calls["Analysis"]
    script = Path(a.args[0][0])
    assert script.is_file() and "desktop_app.__main__" in script.read_text()
    assert str(ROOT) in a.kwargs["pathex"]
    datas = dict((dest, src) for src, dest in a.kwargs["datas"])
    assert Path(datas["resources"]) == ROOT / "resources"
    assert (ROOT / "resources" / "demo" / "train.tsv").is_file()
    assert "interp_engine.sub" in a.kwargs["hiddenimports"] and "desktop_app.sub" in a.kwargs["hiddenimports"]
    assert "interp-studio.dist-info" in datas  # our version for the figure sidecars
    exe = calls["EXE"]
    assert exe.kwargs["exclude_binaries"] is True  # one folder, not one file
    assert Path(exe.kwargs["icon"]).is_file()
    assert calls["COLLECT"].kwargs["name"] == exe.kwargs["name"] == "interp-studio"


def test_desktop_file_and_icon():
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(ROOT / "packaging" / "interp-studio.desktop", encoding="utf-8")
    e = cp["Desktop Entry"]
    assert e["Type"] == "Application" and e["Name"] == "Interp Studio"
    assert e["Exec"].split()[0] == "interp-studio" and e["Categories"].endswith(";")
    icons = ROOT / "resources" / "icons"
    assert (icons / f"{e['Icon']}.png").is_file() and (icons / f"{e['Icon']}.svg").is_file()
    assert (icons / f"{e['Icon']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_m_desktop_app_works():
    out = subprocess.run([sys.executable, "-m", "desktop_app", "--help"], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0 and "interp-studio" in out.stdout and "export" in out.stdout


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("INTERP_STUDIO_PACKAGING_BUILD") != "1",
                    reason="the real PyInstaller build takes minutes: set INTERP_STUDIO_PACKAGING_BUILD=1")
def test_real_build_runs(tmp_path):
    pytest.importorskip("PyInstaller")
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(dist), "--workpath",
                        str(tmp_path / "work"), str(SPEC)], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-3000:]
    app = dist / "interp-studio" / "interp-studio"
    assert (dist / "interp-studio" / "_internal" / "resources" / "demo" / "train.tsv").is_file()
    h = subprocess.run([str(app), "--help"], capture_output=True, text=True, timeout=300)
    assert h.returncode == 0 and "interp-studio" in h.stdout
    e = subprocess.run([str(app), "export", "--help"], capture_output=True, text=True, timeout=300)
    assert e.returncode == 0 and "--from-sidecar" in e.stdout
