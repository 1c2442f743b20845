"""CLI progress: a bar redrawn in place only on a terminal; otherwise a few plain lines (at most
one per LINE_INTERVAL seconds or LINE_STEP of the work, plus a final one); ``train`` redirected
to a file prints one line per epoch and no carriage returns."""
from __future__ import annotations

import io

from interp_engine import cli
from interp_engine.cli import _ProgressBar, main
from interp_engine.demo import demo_corpus


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(bar, n=1000, message="work"):
    for i in range(1, n + 1):
        bar(i, n, message)


def test_not_a_terminal_prints_a_few_plain_lines():
    out = io.StringIO()
    _feed(_ProgressBar(stream=out))
    text = out.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert 2 <= len(lines) <= 1 / _ProgressBar.LINE_STEP + 2
    assert lines[-1] == "100% work" and all("%" in ln for ln in lines)


def test_a_new_phase_starts_its_own_lines_and_the_final_line_comes_once():
    out = io.StringIO()
    bar = _ProgressBar(stream=out)
    _feed(bar, 50, "index")
    bar(50, 50, "index")  # a repeated final call adds nothing
    _feed(bar, 50, "predict")
    lines = out.getvalue().splitlines()
    assert lines.count("100% index") == 1 and lines[-1] == "100% predict"
    assert len(lines) <= 2 * (1 / _ProgressBar.LINE_STEP + 2)


def test_not_a_terminal_prints_at_most_one_line_per_interval(monkeypatch):
    clock = {"t": 0.0}
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock["t"])
    out = io.StringIO()
    bar = _ProgressBar(stream=out)
    for i in range(1, 41):  # 40 calls, 0.05 % of the work each, 1 s apart
        clock["t"] += 1.0
        bar(i, 80_000, "slow")
    # the first call (t = 1 s), then one per LINE_INTERVAL seconds (t = 6, 11, ... 36 s)
    assert len(out.getvalue().splitlines()) == len(range(1, 41, int(_ProgressBar.LINE_INTERVAL)))


def test_a_terminal_gets_the_bar_and_lines_false_silences_files():
    tty = _Terminal()
    _feed(_ProgressBar(stream=tty))
    assert "\r[" in tty.getvalue() and tty.getvalue().endswith("\n")
    quiet = io.StringIO()
    _feed(_ProgressBar(stream=quiet, lines=False))
    assert quiet.getvalue() == ""
    tty = _Terminal()
    _feed(_ProgressBar(stream=tty, lines=False))
    assert "\r[" in tty.getvalue()  # lines=False keeps the bar on a terminal


def test_train_to_a_file_prints_one_line_per_epoch(tmp_path, capsys):
    train, test = demo_corpus()
    small = tmp_path / "train.tsv"
    small.write_text("".join(train.read_text(encoding="utf-8").splitlines(keepends=True)[:301]), encoding="utf-8")
    assert main(["train", "--data", str(small), "--arch", "textcnn", "--out", str(tmp_path / "m"), "--epochs", "3",
                 "--device", "cpu"]) == 0
    cap = capsys.readouterr()  # neither stream is a terminal here
    assert "\r" not in cap.out + cap.err
    epochs = [ln for ln in cap.out.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(":")[0] for ln in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert cap.err == "" and len(cap.out.splitlines()) == 3 + 1  # + "saved to ..."
    # --json: the epoch lines go to stderr, the report is the last line of stdout
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "m2"), "--epochs", "2", "--json",
                 "--device", "cpu"]) == 0
    cap = capsys.readouterr()
    assert "\r" not in cap.out + cap.err and len(cap.out.splitlines()) == 1
    assert [ln.split(":")[0] for ln in cap.err.splitlines() if ln.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    assert len(cap.err.splitlines()) == 2 + 1
