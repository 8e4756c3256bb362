from setuptools import find_packages, setup

setup(
    name="kd-explorer",
    version="0.1.0",
    description="A real-time 3D explorer that shows knowledge distillation at work",
    python_requires=">=3.11",
    packages=find_packages(include=["sim", "sim.*", "game", "game.*", "bench", "bench.*"]),
    install_requires=[
        "panda3d>=1.10.14,<1.11",
        "numpy>=1.26",
        "numba>=0.59",
        # Numba calls BLAS through SciPy for np.dot inside the kernels.
        "scipy>=1.10",
    ],
    extras_require={
        "video": ["imageio>=2.31", "imageio-ffmpeg>=0.4.9"],
        "test": [
            "pytest>=8",
            "pillow>=10",
            "imageio>=2.31",
            "imageio-ffmpeg>=0.4.9",
        ],
    },
    entry_points={
        "console_scripts": [
            "kd-sim=sim.cli:main",
            "kd-explorer=game.cli:main",
        ],
    },
)
