"""A text progress bar for long terminal commands."""

import sys
import time


class ProgressBar:
    """Draw `label [#####-----] 12/40 3.1s` on one terminal line, rewritten in place."""

    def __init__(self, label: str, total: int, stream=None, width: int = 30):
        self.label = label
        self.total = max(int(total), 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.started = time.perf_counter()

    def update(self, done: int, suffix: str = "") -> None:
        filled = int(self.width * min(done, self.total) / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        text = f"\r{self.label} [{bar}] {done}/{self.total} {elapsed:.1f}s {suffix}"
        self.stream.write(text.ljust(79))
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
