"""The candidate table of one token (Kim et al. ``004_137d387c767c1e08.txt`` Fig. 1), in a dock.

Input marginalization replaces token x_i by every candidate x̃_i the likelihood model finds
plausible in its context, weights the classifier's p(y_c | x̃_i, x_−i) by p(x̃_i | x_−i) and
compares the result with p(y_c | x) (eq. 1-4). :class:`CandidateTablePanel` shows, for the token
the user clicked, the candidates sorted by likelihood with both probabilities, and a header with
the token, its weight of evidence and the two class probabilities. A shift-clicked span shows its
joint WoE (multi-token marginalization, §3.3) in the same header.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from interp_engine.attribution import registry

from ..colors import diverging_qcolor

#: rows shown at most (the rest of a long tail carries little likelihood)
MAX_ROWS = 500

_Index = QModelIndex | QPersistentModelIndex


class CandidateTableModel(QAbstractTableModel):
    """Rows: candidates (most likely first). Columns: rank, candidate, p(x̃|x_−i), p(y_c|x̃, x_−i)."""

    HEADERS = ("#", "candidate", "p(x̃ᵢ|x₋ᵢ)", "p(y|x̃ᵢ,x₋ᵢ)")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table = None
        self._n = 0
        self._class = "y"

    def set_table(self, table, class_name: str = "y") -> None:
        self.beginResetModel()
        self._table = table
        self._n = 0 if table is None else min(len(table.candidates), MAX_ROWS)
        self._class = class_name
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == 3:
                return f"p({self._class}|x̃ᵢ,x₋ᵢ)"
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role=Qt.ItemDataRole.DisplayRole):
        t = self._table
        if t is None or not index.isValid():
            return None
        r, c = index.row(), index.column()
        is_original = t.candidates[r] == t.token
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return str(r + 1)
            if c == 1:
                return t.candidates[r] + ("  (original)" if is_original else "")
            if c == 2:
                return f"{float(t.likelihood[r]):.4f}" if t.likelihood[r] >= 1e-4 else f"{float(t.likelihood[r]):.2e}"
            return f"{float(t.target_probability[r]):.4f}"
        if role == Qt.ItemDataRole.TextAlignmentRole and c in (0, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and is_original:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.BackgroundRole and c == 3:
            # how the candidate moves the class probability relative to p(y|x): blue = lower
            delta = float(t.target_probability[r]) - float(t.p_target)
            return QBrush(diverging_qcolor(-delta, 1.0))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"“{t.candidates[r]}” at position {t.position}\n"
                    f"p(x̃ | x₋ᵢ) = {float(t.likelihood[r]):.4g}\n"
                    f"p({self._class} | x̃, x₋ᵢ) = {float(t.target_probability[r]):.4g}")
        return None


class CandidateTablePanel(QWidget):
    """Header (token, WoE, probabilities) and the candidate table; see the module docstring."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._table = None
        self._span = None
        self.header = QLabel()
        self.header.setObjectName("candidateHeader")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.model = CandidateTableModel(self)
        self.view = QTableView()
        self.view.setObjectName("candidateTable")
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.span_label = QLabel()
        self.span_label.setObjectName("spanLabel")
        self.span_label.setTextFormat(Qt.TextFormat.RichText)
        self.span_label.setWordWrap(True)
        self.span_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.span_label)
        lay.addWidget(self.header)
        lay.addWidget(self.view, 1)
        self.show_message(f"Click a token of the heatmap (method: {registry.label('marginalization')}) to see what the likelihood "
                          "model would put in its place. Shift-click a neighbour to marginalize 2–3 tokens jointly.")

    @property
    def table(self):
        """The :class:`~interp_engine.results.CandidateTable` shown, or None."""
        return self._table

    @property
    def span(self):
        """The :class:`~interp_engine.results.SpanAttribution` shown, or None."""
        return self._span

    def set_result(self, table) -> None:
        """Show a :class:`~interp_engine.results.CandidateTable`."""
        self._table = table
        names = tuple(table.prediction.class_names)
        cname = names[table.target] if 0 <= table.target < len(names) else str(table.target)
        self.model.set_table(table, cname)
        woe = float(table.woe)
        col = diverging_qcolor(woe, max(abs(woe), 1e-12)).name()
        cut = (f"top-{table.params['top_n']}" if table.params.get("top_n") else
               f"σ = {table.params.get('sigma', 0):g}") if table.params else ""
        shown = f" (first {MAX_ROWS} shown)" if len(table.candidates) > MAX_ROWS else ""
        dropped = (f" · dropped mass {table.dropped_mass:.3g}" if table.dropped_mass > 0 else "")
        segs, names2 = getattr(table, "segments", None), tuple(getattr(table, "segment_names", ()) or ())
        seg = int(segs[table.position]) if segs is not None and len(names2) == 2 and table.position < len(segs) else -1
        where = f"{_esc(names2[seg])}, " if seg in (0, 1) else ""  # a pair: which text the token is in
        self.header.setText(
            f"Token <b>“{_esc(table.token)}”</b> ({where}position {table.position}) · "
            f"WoE <b><span style='color:{col}'>{woe:+.3f} bits</span></b> for “{_esc(cname)}”<br>"
            f"p({_esc(cname)} | x) = {table.p_target:.4f} · p({_esc(cname)} | x₋ᵢ) = {table.p_marginal:.4f}<br>"
            f"<span style='color:#666'>{len(table.candidates)} candidates{shown}, "
            f"{_esc(table.likelihood_name)} likelihood, {cut}{dropped}</span>")
        self.view.scrollToTop()

    def set_span(self, span) -> None:
        """Show the joint WoE of a :class:`~interp_engine.results.SpanAttribution` above the table."""
        self._span = span
        if span is None:
            self.span_label.hide()
            return
        names = tuple(span.prediction.class_names)
        cname = names[span.target] if 0 <= span.target < len(names) else str(span.target)
        words = " ".join(span.tokens[i] for i in span.positions)
        secs = f", {span.seconds:.2g} s" if span.seconds else ""
        self.span_label.setText(
            f"<b>Span “{_esc(words)}”</b> (tokens {span.positions[0]}–{span.positions[-1]}): joint WoE "
            f"<b>{span.score:+.3f} bits</b> for “{_esc(cname)}”; p(y | x) = {span.p_target:.4f}, "
            f"p(y | x₋span) = {span.p_marginal:.4f} <span style='color:#666'>({span.n_candidates} "
            f"candidate combinations{secs})</span>")
        self.span_label.show()

    def show_message(self, message: str) -> None:
        """Empty the table and show ``message`` in the header."""
        self._table = None
        self.model.set_table(None)
        self.header.setText(f"<span style='color:#666'>{_esc(message)}</span>")

    def show_span_message(self, message: str) -> None:
        self._span = None
        self.span_label.setText(f"<span style='color:#666'>{_esc(message)}</span>")
        self.span_label.show()

    def set_computing(self, message: str = "Computing the candidates…") -> None:
        self.header.setText(f"<span style='color:#8a5a00'>{_esc(message)}</span>")

    def row_values(self, row: int) -> tuple[str, float, float]:
        """``(candidate, likelihood, target probability)`` of a table row (tests)."""
        t = self._table
        return t.candidates[row], float(t.likelihood[row]), float(t.target_probability[row])


def _esc(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

