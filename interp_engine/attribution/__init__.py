"""Token attribution methods. One module per family; every method takes a
:class:`~interp_engine.models.Classifier` and returns per-token scores."""
from .erasure import ErasureAttribution
from .gradient import GradientAttribution, gradient_scores
from .likelihood import LikelihoodModel, MaskedLMLikelihood, PriorLikelihood, UniformLikelihood, load_mlm_likelihood
from .marginalization import EPS, InputMarginalization, log2_odds, weight_of_evidence

METHODS = {
    "grad": "gradient of the class score w.r.t. the word embedding, summed over dimensions",
    "grad_input": "gradient × input (embedding), summed over dimensions",
    "marginalization": "input marginalization with a likelihood model (Kim et al. 2020, eq. 1-4), WoE in bits",
    "zero": "zero-embedding erasure, WoE in bits (Kim et al. 2020, §4.3)",
    "unk": "[UNK] erasure, WoE in bits (Kim et al. 2020, §4.3)",
    "integrated_gradients": "Captum IntegratedGradients on the word embeddings, zero baseline",
    "lime": "Captum Lime with token-level feature masks",
}

__all__ = [
    "EPS", "ErasureAttribution", "GradientAttribution", "InputMarginalization", "LikelihoodModel", "METHODS",
    "MaskedLMLikelihood", "PriorLikelihood", "UniformLikelihood", "gradient_scores", "load_mlm_likelihood",
    "log2_odds", "weight_of_evidence",
]
