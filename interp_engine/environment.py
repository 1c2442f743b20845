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

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

#: the packages whose versions change a trained model's numbers
PACKAGES = ("interp-studio", "torch", "numpy", "scipy", "gensim", "tokenizers", "transformers", "scikit-learn")


#: the kernel set every training run uses on an x86-64 CPU with AVX2 (README, "Reproducibility"):
#: torch's ATen kernels, oneDNN's and OpenBLAS's (gensim's Word2Vec via SciPy) capped at AVX2, and
#: MKL (torch's matmuls) on its conditional-numerical-reproducibility branch COMPATIBLE, the one
#: Intel documents as giving the same results on Intel and non-Intel CPUs. Measured (issue 15 bug 7):
#: MR's seed-1 TextCNN was 0.7522 (AVX512), 0.7532 (the first three pins) and 0.7463 (MKL_CBWR=AVX2)
#: on one Intel Xeon: MKL's branch alone changes the model. A variable the user set is left as it is.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell",
                  "MKL_CBWR": "COMPATIBLE"}


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pin_cpu_kernels() -> dict[str, str]:
    """Cap the CPU kernels of torch, oneDNN and OpenBLAS at AVX2 for this process (training runs).

    Must run before torch, numpy or scipy is imported (they read the variables when they load):
    the CLI calls it first thing for ``train`` and ``train-mlm``. Does nothing on a CPU that is not
    x86-64 with AVX2 (there is no common kernel set to pin to), or when torch is already imported.

    Returns:
        the variables it set, ``{}`` when none (already set by the user, or not applicable).
    """
    if platform.machine().lower() not in ("x86_64", "amd64") or "avx2" not in _cpu_flags():
        return {}
    if any(m in sys.modules for m in ("torch", "numpy", "scipy")):
        return {}
    done = {}
    for k, v in PINNED_KERNELS.items():
        if k not in os.environ:
            os.environ[k] = v
            done[k] = v
    return done


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
        kernel set torch dispatches to (``ATEN_CPU_CAPABILITY`` overrides it); ``kernel_env`` the
        kernel variables of :data:`PINNED_KERNELS` as this process saw them (None: unset).
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
            "torch_cpu_capability": cap, "torch_threads": torch.get_num_threads(),
            "kernel_env": {k: os.environ.get(k) for k in PINNED_KERNELS}, "packages": pk}
