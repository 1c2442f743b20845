"""What a trained model's numbers depend on besides the code, the data and the seed: the library
versions and the CPU's instruction set. Recorded in every training report (``training.json``,
``mlm_training.json``) so that a result that does not reproduce elsewhere can be traced.

Why it matters (README, "Reproducibility"): with one thread a seed reproduces a model bit for bit
on one machine with one installation, but float32 kernels differ in their last bits between
instruction sets (torch picks AVX512, AVX2 or a default kernel at run time; OpenBLAS, used by
gensim's Word2Vec through SciPy, picks its own), and training amplifies last-bit differences into a
different selected epoch.
"""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

#: the packages whose versions change a trained model's numbers
PACKAGES = ("interp-studio", "torch", "numpy", "scipy", "gensim", "tokenizers", "transformers", "scikit-learn")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict:
    """The environment of a training run, as JSON-able values.

    Returns:
        ``{"python": "3.11.7", "platform": ..., "cpu": "AMD EPYC", "torch_cpu_capability": "AVX512",
        "torch_threads": 1, "packages": {name: version or None}}``. ``torch_cpu_capability`` is the
        kernel set torch dispatches to (``ATEN_CPU_CAPABILITY`` overrides it).
    """
    import torch

    pk = {}
    for name in PACKAGES:
        try:
            pk[name] = version(name)
        except PackageNotFoundError:
            pk[name] = None
    try:
        cap = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - older torch
        cap = None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": _cpu_model(),
            "torch_cpu_capability": cap, "torch_threads": torch.get_num_threads(), "packages": pk}
