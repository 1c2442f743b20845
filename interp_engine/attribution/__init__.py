"""Token attribution methods. One module per family; every method takes a
:class:`~interp_engine.models.Classifier` and returns per-token scores."""
from .gradient import GradientAttribution, gradient_scores

METHODS = {
    "grad": "gradient of the class score w.r.t. the word embedding, summed over dimensions",
    "grad_input": "gradient × input (embedding), summed over dimensions",
}

__all__ = ["GradientAttribution", "METHODS", "gradient_scores"]
