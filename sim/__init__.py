"""Knowledge distillation on handwritten digits: data, models, maths and training.

Pure NumPy and Numba; nothing here imports Panda3D.
"""

import os

# The kernels multiply matrices of at most 128 x 128 through BLAS. Extra BLAS threads gain
# nothing at that size, and waking them on a busy machine costs milliseconds, which breaks the
# explorer's per-frame training budget. This only takes effect if no BLAS was loaded before.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
