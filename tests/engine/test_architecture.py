"""Architecture rules that code review would otherwise have to remember (issue: one operation
seam): model-family rules live in ``interp_engine/models``; the paper defaults are written once,
in ``interp_engine/config.py``."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.joinpath("interp_engine").rglob("*.py"), *ROOT.joinpath("desktop_app").rglob("*.py")])
FAMILY_CHECK = re.compile(r"""kind\s*(==|!=|\bin\b)\s*[\(\[]?\s*["'](textcnn|bilstm|transformer)["']""")


def _numbers(path: Path) -> list[tuple[int, float]]:
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type == tokenize.NUMBER:
            try:
                out.append((tok.start[0], float(tok.string)))
            except ValueError:  # complex or hex literals
                pass
    return out


def test_no_model_type_string_checks_outside_models():
    bad = []
    for p in SOURCES:
        if "models" in p.relative_to(ROOT).parts[:2]:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if FAMILY_CHECK.search(line):
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bad, "model-type checks belong in interp_engine/models/family.py:\n" + "\n".join(bad)


def test_the_paper_defaults_are_written_once():
    """λ1 = 0.004 and Adam lr 2e-4 (Yuan et al.), σ = 1e-5 (Kim et al.): only config.py writes them."""
    distinctive = {0.004: "λ1", 2e-4: "the optimization's learning rate", 1e-5: "σ"}
    bad = []
    for p in SOURCES:
        if p.name == "config.py" and p.parent.name == "interp_engine":
            continue
        for line, value in _numbers(p):
            if value in distinctive:
                bad.append(f"{p.relative_to(ROOT)}:{line}: {value} ({distinctive[value]})")
    assert not bad, "read these from interp_engine.config instead:\n" + "\n".join(bad)


def test_no_import_circle_in_desktop_app():
    """Function-level imports count too: a circle hidden in a function is still a circle."""
    import grimp

    g = grimp.build_graph("desktop_app", include_external_packages=False)
    cycles = [(m, i) for m in sorted(g.modules) for i in g.find_modules_directly_imported_by(m)
              if i.startswith("desktop_app") and g.chain_exists(importer=i, imported=m)]
    assert not cycles, f"import circles in desktop_app: {cycles}"


def test_no_desktop_app_module_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.joinpath("desktop_app").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"split these by responsibility: {long}"
