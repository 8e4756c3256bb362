"""Extract the UCI handwritten digits bundled with scikit-learn into assets/digits.npz.

Run once by hand, with scikit-learn installed (it is not a runtime dependency):

    python assets/extract_digits.py
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUTPUT = Path(__file__).with_name("digits.npz")


def main() -> None:
    bunch = load_digits()

    # images: (1797, 8, 8) uint8 with values 0..16; labels: (1797,) uint8 with values 0..9.
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    np.savez_compressed(OUTPUT, images=images, labels=labels)
    print(f"wrote {OUTPUT}: {images.shape[0]} images, {images.nbytes} bytes of pixels")


if __name__ == "__main__":
    main()
