"""Soak test (issue 8): the real main window on a tiny saved model, driven through 1,000 seeded
random user actions (select a sentence, click a token or span, click a grid cell, change the method
or target, type text including odd Unicode, search the training set, export a figure, compare
methods, cancel, open a bad file). Nothing may raise, Qt may not report a critical message, no
thread may be left running, and the memory growth after warm-up stays bounded (memory is measured
after garbage collection and ``malloc_trim``, so it counts memory in use, not fragmentation).

Marked ``slow`` but part of the README's test command (nothing deselects ``slow``); about 1 to 2
minutes. ``INTERP_SOAK_ACTIONS`` / ``INTERP_SOAK_SEED`` change the count and the seed.
"""
from __future__ import annotations

import os
import random
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QtMsgType, qInstallMessageHandler

from tests.e2e.conftest import TINY_ROWS

pytestmark = pytest.mark.slow

N_ACTIONS = int(os.environ.get("INTERP_SOAK_ACTIONS", "1000"))
SEED = int(os.environ.get("INTERP_SOAK_SEED", "8"))
WARMUP = 100  # actions before the reference RSS (one-time allocations: fonts, caches, matplotlib)
MAX_GROWTH_MB = 100.0  # measured: +24 MiB over 2,900 actions after warm-up

ROWS = [
    *TINY_ROWS,  # the e2e tests' sentences, then odd ones
    (1, "great film 😀 with a café scene"),
    (0, "שלום bad film"),
    (1, "a moving e\u0301tude , great"),
    (0, "the worst\u200bfilm ever made"),
    (1, " ".join(["great acting"] * 30)),  # longer than the model's 32 tokens
    (0, "qwzx vbnm"),  # only unknown words
]
TYPED = [
    "great acting , awful plot", "", "   ", "\u200b\u200d", "😀😀😀", "مرحبا great", "a" * 300, "\x00 film",
    "film\u2028film", "the the the the", "good\u0301\u0301\u0301", "\ufeffgreat", "I hated it ; loved it !",
]


def settle_memory() -> None:
    """Collect garbage and give freed heap pages back to the OS (glibc ``malloc_trim``), so that
    RSS measures memory in use rather than allocator fragmentation of the engine thread."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def rss_mb(field: str = "VmRSS") -> float:
    """Memory of this process in MiB from /proc/self/status: ``VmRSS`` (resident set size) or
    ``RssAnon`` (its anonymous part: the heap, without memory-mapped files such as the fonts Qt
    loads for new scripts). Elsewhere the peak RSS from getrusage."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def soak_model(tmp_path):
    from tests.helpers import save_rows_model

    return save_rows_model(tmp_path, ROWS)


class Recorder:
    """Python exceptions (sys/threading excepthooks) and Qt critical/fatal messages."""

    def __init__(self):
        self.exceptions: list[str] = []
        self.qt_messages: list[tuple[str, str]] = []

    def excepthook(self, etype, value, tb):
        import traceback

        self.exceptions.append("".join(traceback.format_exception(etype, value, tb)))

    def thread_hook(self, args):
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def qt_handler(self, mode, _context, message):
        if mode in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            self.qt_messages.append((str(mode), message))


def test_soak_1000_random_actions(qtbot, soak_model, tmp_path, monkeypatch, capsys):
    from desktop_app.main_window import MainWindow

    monkeypatch.setenv("INTERP_STUDIO_CACHE", str(tmp_path / "cache"))
    rec = Recorder()
    monkeypatch.setattr(sys, "excepthook", rec.excepthook)
    monkeypatch.setattr(threading, "excepthook", rec.thread_hook)
    previous_handler = qInstallMessageHandler(rec.qt_handler)
    py_threads_before = {t.ident for t in threading.enumerate()}
    rng = random.Random(SEED)
    t_start = time.perf_counter()
    rss_start = rss_mb()
    try:
        win = MainWindow(persist_layout=False)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        c = win.controller
        model_dir, data = soak_model
        with qtbot.waitSignals([c.sigModelLoaded, c.sigDatasetLoaded], timeout=60000):
            win.open_model(str(model_dir))
            win.open_dataset(str(data))
        qtbot.waitUntil(lambda: not win.client.busy, timeout=60000)

        counts: dict[str, int] = {}
        exports: list[Path] = []
        rss_warm = None
        samples: list[tuple[int, int]] = []

        def act_select():
            win.dataset_panel.select_row(rng.randrange(len(ROWS)))

        def act_token():
            n = win.heatmap.view.token_count()
            if not n or not win.heatmap.view.isVisible():
                return "skipped"
            i = rng.randrange(n)
            mods = Qt.KeyboardModifier.ShiftModifier if rng.random() < 0.25 else Qt.KeyboardModifier.NoModifier
            qtbot.mouseClick(win.heatmap.view, Qt.MouseButton.LeftButton, mods, win.heatmap.token_rect(i).center())

        def act_cell():
            hs = win.grid.result
            if hs is None or not win.grid.plot.isVisible():
                return "skipped"
            layer, loc = rng.randrange(len(hs.layer_names)), rng.randrange(len(hs.tokens))
            pos = win.grid.cell_center(layer, loc)
            qtbot.mouseClick(win.grid.plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(pos.x()), int(pos.y())))

        def act_method():
            combo = win.heatmap.method_combo
            win.heatmap.set_method(combo.itemData(rng.randrange(combo.count())))

        def act_target():
            combo = win.heatmap.target_combo
            if combo.count():
                combo.setCurrentIndex(rng.randrange(combo.count()))

        def act_type():
            if rng.random() < 0.3:  # random junk from all of Unicode (no surrogates)
                text = "".join(chr(rng.choice([rng.randrange(32, 0x2FF), rng.randrange(0x590, 0x6FF),
                                               rng.randrange(0x1F300, 0x1F64F), rng.randrange(0x200B, 0x2030),
                                               rng.randrange(0x4E00, 0x4E80)])) for _ in range(rng.randrange(1, 40)))
            else:
                text = rng.choice(TYPED + [t for _, t in ROWS])
            win.sentence_edit.setText(text)
            qtbot.keyClick(win.sentence_edit, Qt.Key.Key_Return)

        def act_search():
            words = [w for _, t in ROWS for w in t.split()] + ["", "😀", "no-such-word", "great acting"]
            win.search_panel.query_edit.setText(rng.choice(words))
            win.search_panel.search_button.click()

        def act_export():
            if rng.random() < 0.5 and hasattr(win, "exports"):  # issue 7's export dialog
                panel = rng.choice([win.heatmap, win.grid])
                dlg = win.exports.export_panel(panel)
                if dlg is None:
                    return "skipped"
                try:
                    dlg.set_format(rng.choice(["svg", "png"]))
                    exports.append(dlg.save(tmp_path / f"fig{len(exports)}"))
                finally:
                    dlg.close()
            else:  # the whole window as the user sees it
                out = tmp_path / f"grab{len(exports)}.png"
                assert win.grab().save(str(out), "PNG")
                exports.append(out)

        def act_compare():
            if win.heatmap.compare_enabled() or rng.random() < 0.5:
                win.heatmap.set_compare(not win.heatmap.compare_enabled(),
                                        rng.sample(["grad", "grad_input", "zero", "unk", "marginalization"], 2))
            else:
                win.heatmap.set_compare(True, ["grad", "marginalization"])

        def act_cancel():
            qtbot.keyClick(win, Qt.Key.Key_Escape)

        def act_bad_file():
            if rng.random() < 0.5:
                win.open_model(str(tmp_path / "no-such-model"))
            else:
                bad = tmp_path / "bad.csv"
                bad.write_text("label;text\n1;x\n")
                win.open_dataset(str(bad))

        def act_close_boxes():
            for box in list(win._boxes):
                box.close()

        def act_wait():
            qtbot.waitUntil(lambda: not win.client.busy, timeout=30000)

        actions = [(act_select, 14), (act_token, 15), (act_cell, 12), (act_method, 8), (act_target, 4),
                   (act_type, 12), (act_search, 8), (act_export, 3), (act_compare, 3), (act_cancel, 5),
                   (act_bad_file, 1), (act_close_boxes, 3), (act_wait, 8)]
        funcs, weights = zip(*actions)
        for i in range(N_ACTIONS):
            fn = rng.choices(funcs, weights)[0]
            outcome = fn()
            name = fn.__name__[4:] + ("(skipped)" if outcome == "skipped" else "")
            counts[name] = counts.get(name, 0) + 1
            qtbot.wait(rng.choice([0, 0, 1, 5, 20]))
            if len(win._boxes) > 5:
                act_close_boxes()
            if i + 1 == WARMUP:
                act_wait()
                settle_memory()
                rss_warm, anon_warm = rss_mb(), rss_mb("RssAnon")
            if (i + 1) % 250 == 0:
                settle_memory()
                samples.append((i + 1, round(rss_mb()), round(rss_mb("RssAnon"))))
            assert not rec.exceptions, f"action {i} ({name}) raised:\n{rec.exceptions[0]}"
        qtbot.waitUntil(lambda: not win.client.busy, timeout=60000)
        settle_memory()
        rss_end, anon_end = rss_mb(), rss_mb("RssAnon")
        thread = win.client.thread
        win.close()
        assert thread.isFinished()
    finally:
        qInstallMessageHandler(previous_handler)
    seconds = time.perf_counter() - t_start
    # Python threads started during the test and still running (a QThread that ran Python code shows
    # up as a _DummyThread that never ends: the QThreads are checked by qthread_guard instead)
    leftover = [t.name for t in threading.enumerate() if t.ident not in py_threads_before and t.is_alive()
                and not isinstance(t, threading._DummyThread)]
    done = sum(counts.values())
    with capsys.disabled():
        print(f"\nsoak: {done} actions (seed {SEED}) in {seconds:.1f} s; RSS start {rss_start:.0f} MiB, "
              f"after {WARMUP} warm-up actions {rss_warm:.0f} MiB, end {rss_end:.0f} MiB "
              f"(growth after warm-up {rss_end - rss_warm:+.0f} MiB); {len(exports)} exports")
        print("soak actions: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"soak anonymous RSS: after warm-up {anon_warm:.0f} MiB, end {anon_end:.0f} MiB "
              f"(growth {anon_end - anon_warm:+.0f} MiB)")
        print("soak RSS / anonymous RSS (MiB) after n actions: "
              + ", ".join(f"{n}: {m}/{a}" for n, m, a in samples))
    assert done == N_ACTIONS
    assert not rec.exceptions, rec.exceptions[0]
    assert not rec.qt_messages, rec.qt_messages[:5]
    assert not leftover, f"threads left running: {leftover}"
    # the bound is on the heap: file-backed pages (fonts mapped for new scripts) are not a leak
    assert anon_end - anon_warm < MAX_GROWTH_MB
    assert all(p.is_file() and p.stat().st_size > 0 for p in exports)
