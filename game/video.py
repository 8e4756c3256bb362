"""Frames to files: window capture, a PNG writer thread and MP4 assembly with ffmpeg.

Nothing here imports ShowBase. The window only needs `getScreenshot()`, so the writer and the
encoder are testable without one.

PNG frames are written with zlib from the standard library, so recording needs no imaging
package. The MP4 step needs the ffmpeg binary that the `imageio-ffmpeg` package ships (the
`video` extra). Without it the PNG frames stay on disk and `ffmpeg_command()` gives the
command that assembles them.
"""

from __future__ import annotations

import logging
import queue
import shlex
import struct
import subprocess
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FRAME_PATTERN = "frame_%06d.png"
FIRST_FRAME_NUMBER = 1
# zlib level 3 encodes a 1280x720 explorer frame in half the time of level 6 (16 ms against
# 32 ms on one core of a 2-core cloud VM), and the file is 6% larger.
PNG_COMPRESSION = 3
# Frames waiting for the writer thread; each is width * height * 3 bytes (2.7 MB at 720p).
WRITE_QUEUE_FRAMES = 8

# H.264 in yuv420p is the combination that browsers and QuickTime play. A lower CRF means
# higher quality and a larger file; libx264's default is 23.
VIDEO_CODEC = "libx264"
VIDEO_PIXEL_FORMAT = "yuv420p"
VIDEO_CRF = 18
VIDEO_PRESET = "medium"
ENCODER_LOG_NAME = "ffmpeg.log"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOR_TYPE_RGB = 2
PNG_FILTER_SUB = 1


class CaptureError(RuntimeError):
    """The window returned no image to capture."""


# --- capture ------------------------------------------------------------------------------


def grab_pixels(window) -> np.ndarray:
    """Return the last rendered frame of a Panda3D window as (height, width, 3) uint8 RGB.

    The frame is read from the back buffer. It still contains the last frame because Panda3D
    flips at the start of the next render_frame() (`auto-flip` is false by default).
    """
    texture = window.getScreenshot()
    if texture is None:
        raise CaptureError(f"window {window.getName()!r} returned no screenshot")

    data = texture.getRamImageAs("RGB")
    height, width = texture.getYSize(), texture.getXSize()
    pixels = np.frombuffer(data.getData(), dtype=np.uint8).reshape(height, width, 3)

    # Panda3D stores rows bottom-up.
    return pixels[::-1].copy()


def even_size(pixels: np.ndarray) -> np.ndarray:
    """Crop the last row and column as needed so both sides are even, which yuv420p needs."""
    height, width = pixels.shape[:2]
    return pixels[: height - height % 2, : width - width % 2]


def fit_to(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Crop or pad (black) a frame to `shape` = (height, width), keeping its top-left corner.

    A recording keeps the size of its first frame, so that a window resized mid-recording
    still gives one video stream.
    """
    height, width = shape
    if pixels.shape[:2] == (height, width):
        return pixels
    fitted = np.zeros((height, width, 3), dtype=np.uint8)
    rows, cols = min(height, pixels.shape[0]), min(width, pixels.shape[1])
    fitted[:rows, :cols] = pixels[:rows, :cols]
    return fitted


# --- PNG ----------------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def encode_png(pixels: np.ndarray, level: int = PNG_COMPRESSION) -> bytes:
    """Encode (height, width, 3) uint8 RGB as an 8-bit PNG file.

    Every row uses the Sub filter (each byte minus the byte one pixel to its left, modulo
    256), which suits the large flat areas of rendered frames.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"PNG frames must be (height, width, 3) RGB, got shape {pixels.shape}")
    height, width = pixels.shape[:2]

    rows = pixels.reshape(height, width * 3)
    filtered = np.empty((height, width * 3 + 1), dtype=np.uint8)
    filtered[:, 0] = PNG_FILTER_SUB
    filtered[:, 1:4] = rows[:, :3]
    np.subtract(rows[:, 3:], rows[:, :-3], out=filtered[:, 4:])

    header = struct.pack(">IIBBBBB", width, height, 8, PNG_COLOR_TYPE_RGB, 0, 0, 0)
    return (PNG_SIGNATURE + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(filtered.tobytes(), level))
            + _png_chunk(b"IEND", b""))


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Write `pixels` to `path` as PNG, raising OSError when the file cannot be written."""
    Path(path).write_bytes(encode_png(pixels))


# --- the frame writer ---------------------------------------------------------------------


class FrameWriter:
    """Writes numbered PNG frames into `folder` on a background thread.

    The first OSError stops the writing. That frame and every later one are dropped, the
    frames already written stay, and `error` and `failed_path` describe the failure. The
    render thread checks `error` once per frame and stops the recording.
    """

    def __init__(self, folder: Path, queue_frames: int = WRITE_QUEUE_FRAMES):
        self.folder = Path(folder)
        self.submitted = 0
        self.written = 0
        self.error: OSError | None = None
        self.failed_path: Path | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self._thread = threading.Thread(target=self._run, name="kd-frame-writer", daemon=True)
        self._thread.start()

    def frame_path(self, index: int) -> Path:
        """Return the path of frame `index`, counting from 0."""
        return self.folder / (FRAME_PATTERN % (FIRST_FRAME_NUMBER + index))

    def submit(self, pixels: np.ndarray) -> None:
        """Queue one frame; blocks while the queue is full, so memory use stays bounded."""
        self._queue.put((self.frame_path(self.submitted), pixels))
        self.submitted += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None:
                continue
            path, pixels = item
            try:
                write_png(path, pixels)
            except OSError as error:
                self.failed_path = path
                self.error = error
                log.error("writing frame %s failed: %s", path, error)
            else:
                self.written += 1

    def close(self) -> None:
        """Write every queued frame, then end the thread."""
        self._queue.put(None)
        self._thread.join()


# --- the encoder --------------------------------------------------------------------------


def find_ffmpeg() -> str | None:
    """Return the path of the ffmpeg binary bundled with imageio-ffmpeg, or None without it."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        log.warning("imageio-ffmpeg is installed but has no ffmpeg binary: %s", error)
        return None


def ffmpeg_command(frames_dir: Path, out_path: Path, fps: int, executable: str = "ffmpeg") -> list[str]:
    """Return the ffmpeg arguments that turn the numbered PNGs in `frames_dir` into an MP4."""
    return [
        executable, "-y", "-loglevel", "error",
        "-framerate", str(fps), "-start_number", str(FIRST_FRAME_NUMBER),
        "-i", str(Path(frames_dir) / FRAME_PATTERN),
        "-c:v", VIDEO_CODEC, "-preset", VIDEO_PRESET, "-crf", str(VIDEO_CRF),
        "-pix_fmt", VIDEO_PIXEL_FORMAT, "-movflags", "+faststart",
        str(out_path),
    ]


def shell_command(arguments: list[str]) -> str:
    """Return `arguments` as one line to paste into a POSIX shell."""
    return shlex.join(arguments)


@dataclass
class EncodeResult:
    """The outcome of one ffmpeg run: the MP4 on success, or the reason it failed."""

    out_path: Path
    frames_dir: Path
    ok: bool
    message: str


class Encoder:
    """Runs ffmpeg on a recording's frames as a child process, so the explorer keeps drawing.

    Call poll() once per frame (or wait() to block). ffmpeg's messages go to ffmpeg.log in
    the frames folder, so a full pipe can never stall it.
    """

    def __init__(self, executable: str, frames_dir: Path, out_path: Path, fps: int):
        self.frames_dir = Path(frames_dir)
        self.out_path = Path(out_path)
        self.command = ffmpeg_command(self.frames_dir, self.out_path, fps, executable)
        self.log_path = self.frames_dir / ENCODER_LOG_NAME
        self._log_file = open(self.log_path, "wb")
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=self._log_file)
        except OSError:
            self._log_file.close()
            raise
        log.info("encoding %s from %s", self.out_path, self.frames_dir)

    def poll(self) -> EncodeResult | None:
        """Return the result once ffmpeg has exited, else None."""
        code = self._process.poll()
        return None if code is None else self._finish(code)

    def wait(self) -> EncodeResult:
        return self._finish(self._process.wait())

    def _finish(self, code: int) -> EncodeResult:
        self._log_file.close()
        if code == 0 and self.out_path.is_file() and self.out_path.stat().st_size > 0:
            size_mb = self.out_path.stat().st_size / 1e6
            return EncodeResult(self.out_path, self.frames_dir, True,
                                f"saved {self.out_path} ({size_mb:.1f} MB)")

        detail = self._last_log_line() or f"exit status {code}"
        return EncodeResult(self.out_path, self.frames_dir, False,
                            f"encoding {self.out_path.name} failed: {detail}; "
                            f"the frames stay in {self.frames_dir}")

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


def remove_frames(frames_dir: Path) -> None:
    """Delete a recording's PNG frames and ffmpeg log, and the folder once it is empty."""
    frames_dir = Path(frames_dir)
    for path in frames_dir.glob("frame_*.png"):
        path.unlink()
    (frames_dir / ENCODER_LOG_NAME).unlink(missing_ok=True)
    try:
        frames_dir.rmdir()
    except OSError as error:
        log.warning("kept %s: %s", frames_dir, error)
