"""Knowledge distillation on handwritten digits: data, models, maths and training.

Pure NumPy and Numba; nothing here imports Panda3D.
"""
