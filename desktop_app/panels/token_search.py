"""Training-set search dock (Lopes et al. §4): token / phrase search with the model's predictions
on the matches and the histogram of p(class) split by gold label (Fig. 5-6), and a second tab
with activation similarity (§4.1) for the current token or span.

The panel only emits intent and shows results (``set_result``, ``set_similar_result``); the
:class:`~desktop_app.controller.TokenSearchController` sends the requests to the worker.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAbstractTextDocumentLayout, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from interp_engine.config import SEARCH_MODES, SearchConfig

#: combo text of each search mode (:data:`interp_engine.config.SEARCH_MODES` order)
MODE_LABELS = {"phrase": "phrase", "all": "all words"}
#: colours of the gold-label histograms (cycled)
GOLD_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
HTML_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


def highlight_html(text: str, start: int, end: int) -> str:
    """``text`` as HTML with ``text[start:end]`` in bold on a yellow background."""
    if not 0 <= start < end <= len(text):
        return html.escape(text)
    return (html.escape(text[:start]) + '<b style="background-color:#ffe066">' + html.escape(text[start:end])
            + "</b>" + html.escape(text[end:]))


def match_html(res, r: int) -> tuple[str, str]:
    """``(html, tooltip)`` of listed match ``r`` of a search or similarity result: the matched text
    with the match highlighted; for a pair dataset prefixed by the name of the text it is in and
    followed, in grey, by the row's other text."""
    s, e = (int(x) for x in res.char_span[r])
    text = res.texts[r]
    names, segs = getattr(res, "segment_names", ()), getattr(res, "match_segments", None)
    if not names or segs is None or len(names) != 2 or not getattr(res, "pair_texts", ()):
        return highlight_html(text, s, e), text
    seg = int(segs[r])
    other = res.pair_texts[r][1 - seg]
    shown = (f"<i>{html.escape(names[seg])}:</i> " + highlight_html(text, s, e)
             + f' <span style="color:#777777">‖ {html.escape(names[1 - seg])}: {html.escape(other)}</span>')
    tip = f"{names[0]}: {res.pair_texts[r][0]}\n{names[1]}: {res.pair_texts[r][1]}"
    return shown, tip


class HighlightDelegate(QStyledItemDelegate):
    """Paints a cell's ``HTML_ROLE`` rich text (the sentence with its match highlighted)."""

    def paint(self, painter, option, index):
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        doc = QTextDocument()
        doc.setDefaultFont(opt.font)
        doc.setHtml(index.data(HTML_ROLE) or html.escape(opt.text))
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.translate(opt.rect.topLeft())
        painter.setClipRect(opt.rect.translated(-opt.rect.topLeft()))
        ctx = QAbstractTextDocumentLayout.PaintContext()
        if opt.state & QStyle.StateFlag.State_Selected:
            ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(QPalette.ColorRole.HighlightedText))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option, index):
        return QSize(400, 22)


class _SortItem(QTableWidgetItem):
    """Sorts by the number stored in UserRole when there is one."""

    def __lt__(self, other):
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if a is not None and b is not None:
            return a < b
        return super().__lt__(other)


def _item(text: str, key=None) -> QTableWidgetItem:
    it = _SortItem(text)
    if key is not None:
        it.setData(Qt.ItemDataRole.UserRole, key)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return it


class TokenSearchPanel(QWidget):
    """Query box, result table and histogram; second tab: activation-similarity neighbours.

    Signals:
        sigSearchRequested(str): the user asked to search for this query.
        sigSimilarRequested(): the user pressed "Find similar" (for the current token/span).
        sigSentenceActivated(str): a result row was double-clicked: open this sentence.
        sigRowActivated(int): the same double-click: the match's dataset row (a pair dataset
            opens the row's premise and hypothesis).
    """

    sigSearchRequested = Signal(str)
    sigSimilarRequested = Signal()
    sigSentenceActivated = Signal(str)
    sigRowActivated = Signal(int)

    HEADERS = ("sentence", "gold", "predicted", "p(class)")
    SIM_HEADERS = ("distance", "n-gram", "gold", "sentence")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result = None
        self.similar_result = None
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tokenSearchTabs")

        # -- token search tab -------------------------------------------------------------
        self.query_edit = QLineEdit()
        self.query_edit.setObjectName("searchQueryEdit")
        self.query_edit.setPlaceholderText("word or phrase (case-sensitive), Enter to search the dataset")
        self.query_edit.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("searchButton")
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("searchModeCombo")
        for key in SEARCH_MODES:
            self.mode_combo.addItem(MODE_LABELS.get(key, key), key)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(SearchConfig.mode)))
        self.mode_combo.setToolTip("phrase: the words adjacent and in order; all words: anywhere in the sentence")
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("searchClassCombo")
        self.class_combo.setToolTip("the class whose probability the histogram shows")
        self.summary = QLabel("Open a dataset, then search it for a word or phrase.")
        self.summary.setObjectName("searchSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setObjectName("searchResultTable")
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.setItemDelegateForColumn(0, HighlightDelegate(self.table))
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("searchHistogram")
        self.plot.setMinimumHeight(120)
        self.plot.setLabel("left", "matches")
        self.plot.setLabel("bottom", "p(class)")
        self.legend = self.plot.addLegend(offset=(5, 5))
        self.bars: list[pg.BarGraphItem] = []

        row = QHBoxLayout()
        row.addWidget(self.query_edit, 1)
        row.addWidget(self.search_button)
        opts = QHBoxLayout()
        opts.addWidget(QLabel("Match:"))
        opts.addWidget(self.mode_combo)
        opts.addWidget(QLabel("Histogram of p("))
        opts.addWidget(self.class_combo)
        opts.addWidget(QLabel(")"))
        opts.addStretch(1)
        t1 = QWidget()
        l1 = QVBoxLayout(t1)
        l1.setContentsMargins(4, 4, 4, 4)
        l1.addLayout(row)
        l1.addLayout(opts)
        l1.addWidget(self.summary)
        l1.addWidget(self.table, 3)
        l1.addWidget(self.plot, 2)
        self.tabs.addTab(t1, "Token search")

        # -- activation similarity tab ----------------------------------------------------
        self.similar_button = QPushButton("Find similar")
        self.similar_button.setObjectName("findSimilarButton")
        self.similar_label = QLabel("Click a token (or shift-click a span) in the heatmap, then Find similar.")
        self.similar_label.setObjectName("similarSummary")
        self.similar_label.setWordWrap(True)
        self.similar_table = QTableWidget(0, len(self.SIM_HEADERS))
        self.similar_table.setObjectName("similarResultTable")
        self.similar_table.setHorizontalHeaderLabels(self.SIM_HEADERS)
        self.similar_table.setItemDelegateForColumn(3, HighlightDelegate(self.similar_table))
        self.similar_table.setSortingEnabled(True)
        self.similar_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.similar_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.similar_table.verticalHeader().setVisible(False)
        self.similar_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        t2 = QWidget()
        l2 = QVBoxLayout(t2)
        l2.setContentsMargins(4, 4, 4, 4)
        r2 = QHBoxLayout()
        r2.addWidget(self.similar_label, 1)
        r2.addWidget(self.similar_button)
        l2.addLayout(r2)
        l2.addWidget(self.similar_table, 1)
        self.tabs.addTab(t2, "Activation similarity")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)

        self.mode_combo.currentIndexChanged.connect(lambda _i: self._emit_search())
        self.class_combo.currentIndexChanged.connect(lambda _i: self._emit_search())
        self.query_edit.returnPressed.connect(self._emit_search)
        self.search_button.clicked.connect(self._emit_search)
        self.similar_button.clicked.connect(self.sigSimilarRequested)
        self.table.doubleClicked.connect(lambda ix: self._activate(self.table, ix))
        self.similar_table.doubleClicked.connect(lambda ix: self._activate(self.similar_table, ix))

    # -- intent -----------------------------------------------------------------------------
    def _emit_search(self) -> None:
        q = self.query_edit.text().strip()
        if q:
            self.sigSearchRequested.emit(q)

    def mode(self) -> str:
        """``"phrase"`` (adjacent, in order) or ``"all"`` (every word, anywhere)."""
        return self.mode_combo.currentData() or SearchConfig.mode

    def chosen_class(self) -> int:
        """Class index whose probability the histogram shows (default: ``SearchConfig.chosen_class``,
        class 1, e.g. positive)."""
        c = self.class_combo.currentData()
        return int(c) if c is not None else SearchConfig.chosen_class

    def set_class_names(self, names) -> None:
        """Fill the histogram-class selector, keeping the choice when the classes are unchanged."""
        names = tuple(str(n) for n in names)
        if names == tuple(self.class_combo.itemText(i) for i in range(self.class_combo.count())):
            return
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for i, n in enumerate(names):
            self.class_combo.addItem(n, i)
        first = SearchConfig.chosen_class
        self.class_combo.setCurrentIndex(first if 0 <= first < len(names) else 0)
        self.class_combo.blockSignals(False)

    def _activate(self, table: QTableWidget, index: QModelIndex) -> None:
        col = 0 if table is self.table else 3
        it = table.item(index.row(), col)
        if it is not None and it.data(ROW_ROLE) is not None:
            self.sigSentenceActivated.emit(it.text())
            self.sigRowActivated.emit(int(it.data(ROW_ROLE)))

    def set_query(self, text: str) -> None:
        """Put ``text`` in the query box (a clicked heatmap token) without searching."""
        self.query_edit.setText(text)

    def set_busy(self, message: str) -> None:
        self.summary.setText(message)

    def set_similar_busy(self, message: str) -> None:
        self.similar_label.setText(message)

    # -- results ----------------------------------------------------------------------------
    def current_result(self):
        """The TokenSearchResult shown (for figure export: its p(class) histogram), or None."""
        return getattr(self, "result", None)

    def set_result(self, res) -> None:
        """Show a :class:`~interp_engine.results.TokenSearchResult`."""
        self.result = res
        names = res.class_names

        def name(c: int) -> str:
            return names[c] if 0 <= c < len(names) else ("—" if c < 0 else str(c))

        parts = [f"{res.n_matches} example{'s' if res.n_matches != 1 else ''} contain “{' '.join(res.query_tokens)}”"
                 + (f" (showing {len(res.rows)})" if len(res.rows) < res.n_matches else "")
                 + f" — matching {getattr(res, 'unit', 'words')}"]  # the model's word pieces, or words
        if len(res.counts_gold):
            parts.append("gold: " + ", ".join(f"{name(c)} {n}" for c, n in enumerate(res.counts_gold)))
        if len(res.counts_predicted):
            parts.append("predicted: " + ", ".join(f"{name(c)} {n}" for c, n in enumerate(res.counts_predicted)))
        self.summary.setText(" · ".join(parts))
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(res.rows))
        pc = name(res.chosen_class)
        self.table.setHorizontalHeaderItem(3, QTableWidgetItem(f"p({pc})"))
        for r in range(len(res.rows)):
            shown, tip = match_html(res, r)
            it = _item(res.texts[r], int(res.rows[r]))
            it.setData(HTML_ROLE, shown)
            it.setData(ROW_ROLE, int(res.rows[r]))
            it.setToolTip(tip)
            self.table.setItem(r, 0, it)
            self.table.setItem(r, 1, _item(name(int(res.gold[r]))))
            self.table.setItem(r, 2, _item(name(int(res.predicted[r]))))
            p = float(res.p_class[r])
            self.table.setItem(r, 3, _item("—" if np.isnan(p) else f"{p:.3f}", -1.0 if np.isnan(p) else p))
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # dataset order
        self.table.setSortingEnabled(True)
        self._set_histogram(res)

    def _set_histogram(self, res) -> None:
        for b in self.bars:
            self.plot.removeItem(b)
        self.bars = []
        self.legend.clear()
        edges = np.asarray(res.hist_edges, float)
        H = np.asarray(res.hist_counts)
        if H.size == 0:
            return
        G = H.shape[0]
        w = (edges[1] - edges[0]) / max(G, 1)
        for g in range(G):
            label = f"gold {res.class_names[g]}" if len(res.counts_gold) and g < len(res.class_names) else "all"
            bar = pg.BarGraphItem(x=edges[:-1] + w * (g + 0.5), height=H[g], width=w * 0.9,
                                  brush=GOLD_COLORS[g % len(GOLD_COLORS)], name=label)
            self.plot.addItem(bar)  # a named item joins the plot's legend by itself
            self.bars.append(bar)
        cn = res.class_names[res.chosen_class] if res.chosen_class < len(res.class_names) else res.chosen_class
        self.plot.setLabel("bottom", f"model p({cn}) over the matches")

    def set_similar_result(self, res) -> None:
        """Show a :class:`~interp_engine.results.SimilarityResult`."""
        self.similar_result = res
        span = " ".join(res.tokens[res.span[0]:res.span[1]])
        self.similar_label.setText(f"“{span}” at {res.layer}: {len(res.rows)} nearest of {res.n_indexed} "
                                   f"{res.n}-grams ({res.metric})")
        t = self.similar_table
        t.setSortingEnabled(False)
        t.setRowCount(len(res.rows))
        for r in range(len(res.rows)):
            d = float(res.distances[r])
            t.setItem(r, 0, _item(f"{d:.4f}", d))
            t.setItem(r, 1, _item(res.ngrams[r]))
            g = int(res.gold[r])
            t.setItem(r, 2, _item(res.class_names[g] if 0 <= g < len(res.class_names) else "—"))
            shown, tip = match_html(res, r)
            it = _item(res.texts[r], int(res.rows[r]))
            it.setData(HTML_ROLE, shown)
            it.setData(ROW_ROLE, int(res.rows[r]))
            it.setToolTip(tip)
            t.setItem(r, 3, it)
        t.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # nearest first
        t.setSortingEnabled(True)
        self.tabs.setCurrentIndex(1)
