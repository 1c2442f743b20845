"""Token attribution methods. One module per family; every method takes a
:class:`~interp_engine.models.Classifier` and returns per-token scores."""
from .erasure import ErasureAttribution
from .gradient import GradientAttribution, gradient_scores
from .likelihood import LikelihoodModel, MaskedLMLikelihood, PriorLikelihood, UniformLikelihood, load_mlm_likelihood
from .marginalization import EPS, InputMarginalization, log2_odds, weight_of_evidence


__all__ = [
    "EPS", "ErasureAttribution", "GradientAttribution", "InputMarginalization", "LikelihoodModel",
    "MaskedLMLikelihood", "PriorLikelihood", "UniformLikelihood", "gradient_scores", "load_mlm_likelihood",
    "log2_odds", "weight_of_evidence",
]
