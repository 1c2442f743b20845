"""``desktop_app.__main__.main``: headless subcommands bypass Qt; GUI options parse."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from desktop_app.__main__ import HEADLESS_COMMANDS, build_parser, main


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_headless_subcommand_is_passed_to_the_cli_without_importing_qt():
    proc = _run("""
        import sys, types
        fake = types.ModuleType("interp_engine.cli")
        fake.main = lambda argv: print("cli got", argv) or 7
        fake.SUBCOMMANDS = ("train", "attribute", "hidden")
        sys.modules["interp_engine.cli"] = fake
        from desktop_app.__main__ import main
        rc = main(["attribute", "--model", "m", "--text", "hi"])
        qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"))
        print("rc", rc, "qt", qt)
    """)
    assert proc.returncode == 0, proc.stderr
    assert "cli got ['attribute', '--model', 'm', '--text', 'hi']" in proc.stdout
    assert "rc 7 qt []" in proc.stdout


def test_headless_command_names():
    from interp_engine.cli import SUBCOMMANDS, build_parser as cli_parser

    assert HEADLESS_COMMANDS == set(SUBCOMMANDS) >= {"train", "train-mlm", "attribute", "hidden"}
    # every command the GUI hands over really exists in the CLI
    subparsers = next(a for a in cli_parser()._actions if a.dest == "command")
    assert HEADLESS_COMMANDS <= set(subparsers.choices)


def test_gui_options():
    o = build_parser().parse_args(["--model", "m", "--data", "d.tsv", "--text", "hi", "--device", "cpu",
                                   "--screenshot", "x.png", "--text-column", "sentence", "--label-column", "y"])
    assert (o.model, o.data, o.text, o.device, o.screenshot, o.text_column, o.label_column) == \
        ("m", "d.tsv", "hi", "cpu", "x.png", "sentence", "y")
    assert build_parser().parse_args(["--demo"]).demo


def test_help_and_usage_errors_return_codes(capsys):
    assert main(["--help"]) == 0
    assert "--screenshot" in capsys.readouterr().out
    assert main(["--device", "tpu"]) == 2


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "interp-studio" in proc.stdout


GUARD_TEST = '''
from PySide6.QtCore import QThread

def test_leaks_a_thread():
    t = QThread()
    t.setObjectName("LeakyThread")
    t.start()
    globals()["keep"] = t
'''


def test_qthread_guard_fails_a_test_that_leaves_a_thread_running(tmp_path):
    """The guard fixture from tests/conftest.py, exercised in a separate pytest run."""
    from pathlib import Path

    conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    (tmp_path / "conftest.py").write_text(
        conftest.read_text() + "\n\n@pytest.fixture(autouse=True)\ndef _g(qthread_guard):\n    yield\n")
    (tmp_path / "test_leak.py").write_text(GUARD_TEST)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "left 1 QThread(s) running: LeakyThread" in out
    assert "Destroyed while thread" not in out
