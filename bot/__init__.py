"""faqbot: the engine and everything platform-neutral.

One BLAS thread unless the environment says otherwise: the sentence encoder's
matrices (bot/matching/dense.py) are small, and on a busy two-core machine a
second OpenBLAS thread made a 12-token message take 336 ms instead of 10 ms
(benchmarks/dense_latency.py); set before numpy is first imported.
"""
import os as _os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")
