"""A figure made with the prior likelihood records where the prior's counts came from (the
training file, Kim et al. §4.5), and its remake counts the same file, not the open dataset."""
from __future__ import annotations

import json

from interp_engine import export
from interp_engine.config import MarginalizationConfig
from interp_engine.engine import Engine
from interp_engine.requests import AttributionRequest, PriorRequest
from tests.helpers import save_tiny


def test_prior_figure_remakes_from_its_training_file(tmp_path):
    model = save_tiny(tmp_path / "m")
    train = tmp_path / "train.tsv"
    train.write_text("label\ttext\n1\ta good film with great acting\n1\tgreat great film\n0\ta bad film\n",
                     encoding="utf-8")
    test = tmp_path / "test.tsv"  # another word distribution: counting it would change the scores
    test.write_text("label\ttext\n0\tboring and dull , I hated it\n0\tnever boring\n", encoding="utf-8")
    eng = Engine("cpu")
    eng.load_model(model)
    eng.load_dataset(test)
    eng.run(PriorRequest(path=str(train)))
    req = AttributionRequest(text="a good film", method="marginalization",
                             configs={"marginalization": MarginalizationConfig(likelihood="prior", sigma=0.0)})
    res = eng.run(req)
    out = tmp_path / "fig.svg"
    prov = export.Provenance(model_path=str(model), dataset_path=str(test), likelihood="prior",
                             extra={"prior_data": str(train)})
    export.export_figure(res, out, provenance=prov)
    meta = json.loads(export.sidecar_path(out).read_text(encoding="utf-8"))
    assert meta["extra"]["prior_data"] == str(train)
    again = tmp_path / "again.svg"
    export.remake(export.sidecar_path(out), again)
    assert again.read_bytes() == out.read_bytes()
    # the control: counting the open dataset instead gives another figure, so the test can fail
    eng.set_prior_data(eng.dataset.texts)
    other = eng.run(AttributionRequest(text="a good film", method="marginalization", configs=req.configs))
    assert not (other.scores == res.scores).all()
