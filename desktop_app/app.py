"""QApplication set-up, the interactive run and the ``--screenshot`` run."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from .settings import APPLICATION, ORGANIZATION

log = logging.getLogger(__name__)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once, with organisation/application names for QSettings)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or [sys.argv[0] if sys.argv else "interp-studio"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Interp Studio")
    from interp_engine.paths import resources_dir

    icon = resources_dir() / "icons" / "interp-studio.png"
    if icon.is_file() and app.windowIcon().isNull():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True)
    return app


def run(opts: argparse.Namespace) -> int:
    """Start the GUI with parsed options (see :func:`desktop_app.__main__.build_parser`)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if opts.screenshot:
        return run_screenshot(opts)
    app = ensure_app()
    from .engine_client import wait_for_orphans
    from .main_window import MainWindow

    window = MainWindow(device=opts.device, text_column=opts.text_column, label_column=opts.label_column,
                        pair_column=getattr(opts, "pair_column", "") or "")
    window.show()
    if not (opts.demo or opts.model or opts.data or opts.text):
        window.restore_last_session()  # only if the user asked for it (File menu)
    start(window, opts)
    code = app.exec()
    wait_for_orphans()
    return int(code)


def first_input(opts: argparse.Namespace):
    """The input ``--text`` (and ``--pair``) ask to explain first: a sentence, a pair, or None."""
    from interp_engine.inputs import TextInput

    if not getattr(opts, "text", None):
        return None
    pair = getattr(opts, "pair", None)
    return TextInput.pair(opts.text, pair) if pair is not None else opts.text


def start(window, opts: argparse.Namespace) -> None:
    """Open what the options ask for (demo, model, dataset, sentence or sentence pair)."""
    c = window.controller
    method = getattr(opts, "method", None)
    if method:
        i = window.heatmap.method_combo.findData(method)
        if i < 0:
            log.warning("unknown method %r: choose one of %s", method,
                        ", ".join(window.heatmap.method_combo.itemData(k) for k in range(window.heatmap.method_combo.count())))
        else:
            window.heatmap.set_method(method)
    compare = getattr(opts, "compare", None)
    if compare:
        window.heatmap.set_compare(True, [m.strip() for m in compare.split(",") if m.strip()])
    if first_input(opts) is not None:
        c.set_text(first_input(opts))
    if opts.demo and not opts.model:
        c.open_demo()
    if opts.model:
        c.open_model(opts.model, mlm=getattr(opts, "mlm", None), allow_pickle=getattr(opts, "allow_pickle", False))
    if opts.model and getattr(opts, "compare_model", None):  # after the model: the engine opens them in order
        window.compare_controller.open_compare_model(opts.compare_model,
                                                     allow_pickle=getattr(opts, "allow_pickle", False))
    if opts.data:
        c.open_dataset(opts.data, opts.text_column, opts.label_column, encoding=getattr(opts, "encoding", "utf-8"),
                       pair_column=getattr(opts, "pair_column", "") or "")
    if getattr(opts, "store", None):  # after the model and dataset: the worker opens them in order
        window.open_store(opts.store, show_first=first_input(opts) is None)
    unit = getattr(opts, "maximize_unit", None)
    if unit is not None:
        window.show_activation_view()

        def maximize(_info) -> None:
            c.sigModelLoaded.disconnect(maximize)
            window.activation_controller.run_unit(tuple(unit))

        c.sigModelLoaded.connect(maximize)


def screenshot_ready(window, opts: argparse.Namespace) -> bool:
    """True when every panel ``--screenshot`` waits for shows its result: the dataset-level docks'
    jobs are done and, without ``--text``, the store (``--store``) or the maximization
    (``--maximize``) is shown instead of an explained sentence; otherwise as
    :meth:`~desktop_app.controllers.analysis.AnalysisController.is_ready`."""
    c = window.controller
    for name in ("dataset_results_controller", "evaluation_controller", "activation_controller"):
        ctl = getattr(window, name, None)
        if ctl is not None and not ctl.is_ready():
            return False
    store, unit = getattr(opts, "store", None), getattr(opts, "maximize_unit", None)
    if getattr(opts, "text", None) or not (store or unit is not None):
        return c.is_ready()
    if c.model_info is None or c.client.busy or (c.dataset is not None and c.predictions is None):
        return False
    if store and (window.dataset_results_controller.store is None
                  or window.dataset_results_controller.shown_row is None):
        return False
    return unit is None or window.activation_panel.current_result() is not None


def run_screenshot(opts: argparse.Namespace) -> int:
    """Open the window, wait until every panel has its result, save ``window.grab()`` to PNG.

    "Every panel" means: no job of any dock is pending (the client is not busy: the neighbour
    scatter's optimisation, started when the sentence's heatmap and grid are ready, included) and
    the heatmap, grid and dataset predictions show the current sentence; the grab follows a short
    settle delay after the last job's result was handed to its panel, and checks again.
    ``--timeout`` counts from when the model is open.

    Returns 0 on success; on any error (load failure, nothing to show, timeout) prints the
    message to stderr and returns 1.
    """
    if not (opts.model or opts.demo):
        print("interp-studio: --screenshot needs --model DIR or --demo", file=sys.stderr)
        return 2
    if not (opts.text or opts.data or opts.demo or getattr(opts, "store", None)
            or getattr(opts, "maximize_unit", None) is not None):
        print("interp-studio: --screenshot needs a sentence: --text \"…\" or --data FILE", file=sys.stderr)
        return 2
    out = Path(opts.screenshot).expanduser()
    if out.parent and not out.parent.exists():
        print(f"interp-studio: cannot write {out}: folder {out.parent} does not exist", file=sys.stderr)
        return 2
    app = ensure_app()
    from .main_window import MainWindow

    window = MainWindow(device=opts.device, persist_layout=False, interactive=False,
                        text_column=opts.text_column, label_column=opts.label_column,
                        pair_column=getattr(opts, "pair_column", "") or "")
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    c = window.controller
    loop = QEventLoop()
    outcome: dict[str, object] = {}
    timeout = QTimer(window)
    timeout.setSingleShot(True)
    settle = QTimer(window)
    settle.setSingleShot(True)
    settle.setInterval(150)

    def finish(code: int, message: str | None = None) -> None:
        if "code" in outcome:
            return
        outcome["code"] = code
        if message:
            print(f"interp-studio: {message}", file=sys.stderr)
        timeout.stop()
        settle.stop()
        loop.exit(code)

    def on_error(kind: str, message: str) -> None:
        finish(1, f"{kind} failed: {message}")

    def check() -> None:
        if screenshot_ready(window, opts):
            settle.start()  # let layouts and pyqtgraph settle, then grab

    def grab() -> None:
        if not screenshot_ready(window, opts):
            return
        pixmap = window.grab()
        if pixmap.isNull() or not pixmap.save(str(out), "PNG"):
            finish(1, f"could not write the screenshot to {out}")
        else:
            print(str(out))
            finish(0)

    def on_busy(busy: bool) -> None:
        if not busy:  # the last job ended (a dock's job may end after the sentence's)
            check()

    c.sigError.connect(on_error)
    c.sigStateChanged.connect(check)
    window.dataset_results_controller.sigError.connect(lambda m: on_error("store", m))
    # a dock's result is handed to its panel after the client stopped being busy: check again then
    window.client.sigFinished.connect(lambda *_a: check())
    window.activation_controller.sigError.connect(lambda m: on_error("activation_maximization", m))
    window.client.sigBusyChanged.connect(on_busy)
    settle.timeout.connect(grab)
    timeout.timeout.connect(lambda: finish(1, f"timed out after {opts.timeout:g} s waiting for the results"))
    # --timeout counts from when the model is open (not the load, nor a first start's training of
    # the demo models, whose progress goes to stderr); a failed load ends the run through sigError.
    # Only the first model starts it (a --compare-model opened after it does not restart it).
    def start_timeout(_info) -> None:
        if "timeout_started" not in outcome:
            outcome["timeout_started"] = True
            timeout.start(int(opts.timeout * 1000))

    c.sigModelLoaded.connect(start_timeout)
    if opts.demo:
        shown: list = []  # (message, tens of percent) already printed

        def on_progress(_rid: int, kind: str, done: int, total: int, message: str) -> None:
            if kind != "demo" or total <= 0:
                return
            pct = 100 * done // total
            key = (message, pct // 10)
            if not shown or shown[-1] != key:  # a new step, or 10 % more of it
                shown.append(key)
                print(f"interp-studio: preparing the demo: {message} ({pct}%)", file=sys.stderr, flush=True)

        window.client.sigProgress.connect(on_progress)

    window.show()
    start(window, opts)
    code = loop.exec() if "code" not in outcome else int(outcome["code"])
    c.sigError.disconnect(on_error)
    c.sigStateChanged.disconnect(check)
    window.client.sigBusyChanged.disconnect(on_busy)
    window.close()
    window.deleteLater()
    from .engine_client import wait_for_orphans

    wait_for_orphans()
    return int(outcome.get("code", code))
