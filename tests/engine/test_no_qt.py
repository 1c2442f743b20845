"""interp_engine must never import Qt: import every engine module with Qt blocked."""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import interp_engine

BLOCKER = r"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'qtpy', 'shiboken6'}:
            raise ImportError('Qt import blocked: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for m in MODULES:
    importlib.import_module(m)
assert not any(k.split('.')[0] in {'PySide6', 'pyqtgraph'} for k in sys.modules)
print('ok', len(MODULES))
"""


def test_engine_imports_without_qt():
    mods = ["interp_engine"] + [m.name for m in pkgutil.walk_packages(interp_engine.__path__, "interp_engine.")]
    code = f"MODULES = {mods!r}\n" + BLOCKER
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
