"""Measure the explorer inside a process of its own: `python -m bench.explorer_probe MODE ...`.

bench.game_bench starts one probe per measurement because a process can have one ShowBase at a
time and the renderer (p3tinydisplay or OpenGL) is fixed when the window opens. Every mode
prints one JSON object as the last line of stdout.

Modes:
  frame-cpu    per-frame CPU time of the explorer's task while training, split into phases
  draw-calls   primitive batches per frame, read from a PStats server (text-stats) on loopback
  fps          frame rate in a real window (run it under xvfb-run for Mesa)
  peak-rss     peak resident memory (VmHWM) after training for a given number of seconds;
               --breakdown adds resident memory by stage and by mapping
  first-frame  runs `kd-explorer --offscreen --frames 1` and prints the wall-clock time when
               its first frame has been rendered
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from statistics import median

from game.cli import ANTIALIAS_CHOICES

# Layer sizes of the scaled teacher: 64*256 + 256*256 + 256*64 + 64*10 = 98,944 edges.
SCALED_TEACHER_SIZES = (64, 256, 256, 64, 10)
SCALED_TEACHER_SEED = 7

# Per-frame phases of ExplorerApp.update and the parts of the app that make up each one. The
# GUI phase is the rest of the task: the charts, plots, panels, overlays, controls, captions and
# camera, so panels added later are counted without listing them here.
SIM_PARTS = ("lab.advance",)
SCENE_PARTS = ("_watch_input", "refresh_student|_refresh_student", "pulse.update",
               "knowledge_flow.update", "sparks.update", "teacher_view.update", "student_view.update")

# peak-rss --breakdown: resident memory is also read after this many frames (when Mesa has
# compiled its shaders and allocated the filter buffers), and this many mappings are listed.
FIRST_FRAMES = 5
MAPPINGS_LISTED = 15
# First line of each mapping in /proc/PID/smaps: address range, permissions, offset, device, inode.
SMAPS_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ [-rwxps]{4} ")

# PStats level collectors that split "Primitive batches" by primitive type; their sum is the
# number of draw calls the graphics state guardian issued in the frame.
BATCH_COLLECTOR = "Primitive batches"


def window_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def configure_panda(software: bool, extra: str = "") -> None:
    """Set the PRC options every probe shares: no audio, no vsync, optionally the software renderer."""
    from panda3d.core import loadPrcFileData

    lines = ["audio-library-name null", "sync-video false"]
    if software:
        lines.append("load-display p3tinydisplay")
    loadPrcFileData("kd-bench", "\n".join(lines) + "\n" + extra)


def build_explorer(teacher: str, size: tuple[int, int], offscreen: bool, bloom: bool,
                   software: bool = False, antialias: str = "auto"):
    """Open the explorer on the shipped teacher ('default') or the scaled one ('100k').

    Without `software` the window opens as kd-explorer opens it. With it, the probe opens an
    offscreen p3tinydisplay buffer itself, the way the tests do, because that renderer draws
    in the main thread when renderFrame() runs. Mesa's llvmpipe instead rasterises on worker
    threads while the next frame's Python runs, and on 2 cores the two compete.
    """
    from game.app import ExplorerApp, ExplorerSettings, open_window
    from sim.data import load_split
    from sim.lab import Lab
    from sim.model import MLP, load_teacher

    if teacher == "100k":
        network = MLP.initialised(SCALED_TEACHER_SIZES, SCALED_TEACHER_SEED)
    else:
        network = load_teacher()
    lab = Lab(teacher=network, split=load_split())
    settings = ExplorerSettings(size=size, offscreen=offscreen, bloom=bloom, antialias=antialias)
    if software:
        from direct.showbase.ShowBase import ShowBase
        from panda3d.core import loadPrcFileData

        loadPrcFileData("kd-bench-software", f"win-size {size[0]} {size[1]}\nload-display p3tinydisplay\n")
        base = ShowBase(windowType="offscreen")
    else:
        base = open_window(settings)
    return ExplorerApp(settings, base=base, lab=lab, owns_base=True)


def renderer_name(app) -> str:
    gsg = app.base.win.getGsg()
    if gsg is None:
        return "none"
    if not gsg.getDriverRenderer():
        return gsg.getType().getName()
    return f"{gsg.getDriverRenderer()}, {gsg.getDriverVersion()}"


def edge_count(app) -> int:
    return app.teacher_view.n_edges + app.student_view.n_edges


class PhaseTimer:
    """Wraps named methods of the app so each call adds its wall time to one phase of the frame."""

    def __init__(self):
        self.frame = defaultdict(float)

    def wrap(self, owner, attribute: str, phase: str) -> None:
        original = getattr(owner, attribute)
        frame = self.frame

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                frame[phase] += time.perf_counter() - started

        # An instance attribute shadows the class's method, so the app's own calls go through it.
        setattr(owner, attribute, timed)

    def install(self, app) -> None:
        for phase, parts in (("sim", SIM_PARTS), ("scene", SCENE_PARTS)):
            for part in parts:
                *path, attributes = part.split(".")
                owner = app
                for name in path:
                    owner = getattr(owner, name)
                # "a|b" names the same method before and after a rename; the first present counts.
                attribute = next((name for name in attributes.split("|") if hasattr(owner, name)), None)
                if attribute is None:
                    raise AttributeError(f"the explorer has no {part}; update SCENE_PARTS in {__name__}")
                self.wrap(owner, attribute, phase)
        self.wrap(app, "update", "task")

    def take(self) -> dict:
        """Return this frame's seconds per phase, with the GUI as the task's remainder, and reset."""
        values = dict(self.frame)
        self.frame.clear()
        values["gui"] = values.get("task", 0.0) - values.get("sim", 0.0) - values.get("scene", 0.0)
        return values


def keep_training(app) -> None:
    """Restart the student when its planned epochs are done, so every frame trains."""
    if app.lab.distiller.finished:
        app.lab.reset_student()
    if not app.training:
        app.set_training(True)


def milliseconds(samples) -> float:
    return median(samples) * 1e3


def run_frame_cpu(args) -> dict:
    configure_panda(software=True, extra="window-type offscreen\n")
    app = build_explorer(args.teacher, window_size(args.size), offscreen=True, bloom=False, software=True)
    timer = PhaseTimer()
    timer.install(app)
    app.fixed_dt = 1.0 / 60.0
    keep_training(app)

    frames = defaultdict(list)
    for index in range(args.warmup + args.frames):
        keep_training(app)
        started = time.perf_counter()
        app.base.taskMgr.step()
        step = time.perf_counter() - started
        phases = timer.take()
        if index < args.warmup:
            continue
        for phase in ("sim", "scene", "gui", "task"):
            frames[phase].append(phases.get(phase, 0.0))
        frames["render"].append(step - phases.get("task", 0.0))

    task = sorted(frames["task"])
    result = {
        "frames": args.frames,
        "edges": edge_count(app),
        "sim_ms": milliseconds(frames["sim"]),
        "scene_ms": milliseconds(frames["scene"]),
        "gui_ms": milliseconds(frames["gui"]),
        "cpu_ms": milliseconds(frames["task"]),
        "cpu_ms_p95": task[int(0.95 * (len(task) - 1))] * 1e3,
        "render_ms": milliseconds(frames["render"]),
        "renderer": renderer_name(app),
    }
    app.destroy()
    return result


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child when the probe dies, even if it is killed."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: a killed probe may leave text-stats running


def last_batch_count(report: str) -> int | None:
    """Return the draw calls of the last complete frame in text-stats output, or None.

    text-stats prints one block per frame, each with a "Primitive batches = N" line followed by
    more deeply indented lines, one per primitive type. Their sum is the frame's batch count.
    """
    counts = []
    lines = report.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith(BATCH_COLLECTOR + " ="):
            indent = len(line) - len(line.lstrip())
            total = 0.0
            for child in lines[index + 1:]:
                child_indent = len(child) - len(child.lstrip())
                if child_indent <= indent or "=" not in child:
                    break
                total += float(child.split("=")[1].split()[0])
            counts.append(int(round(total)))
    # The last block may be cut off when the server stops; take the one before it.
    return counts[-2] if len(counts) >= 2 else None


def pstats_server() -> tuple[list[str], dict] | None:
    """Return the command and environment that start Panda3D's text-stats binary, or None.

    The text-stats script on PATH runs the binary in a child process of its own, which
    outlives the script when the script is terminated, so the binary is started directly.
    """
    import importlib.util

    tools = importlib.util.find_spec("panda3d_tools")
    panda = importlib.util.find_spec("panda3d")
    if tools is None or panda is None:
        return None
    binary = Path(tools.origin).parent / "text-stats"
    if not binary.exists():
        return None
    environment = dict(os.environ)
    libraries = str(Path(panda.origin).parent)
    environment["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [libraries, environment.get("LD_LIBRARY_PATH")]))
    return [str(binary)], environment


def run_draw_calls(args) -> dict:
    server = pstats_server()
    if server is None:
        return {"error": "Panda3D's PStats text server (panda3d_tools/text-stats) was not found; "
                         "reinstall panda3d"}
    command, server_environment = server

    port = free_loopback_port()
    onscreen = bool(os.environ.get("DISPLAY"))
    configure_panda(software=not onscreen)
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "pstats.txt"
        stats = subprocess.Popen([*command, "-p", str(port), "-o", str(report_path)], env=server_environment,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=stop_with_parent)
        try:
            time.sleep(0.5)
            app = build_explorer(args.teacher, window_size(args.size), offscreen=not onscreen, bloom=args.bloom,
                                 antialias=args.antialias)
            from panda3d.core import PStatClient

            if not PStatClient.connect("127.0.0.1", port):
                return {"error": f"could not connect to text-stats on 127.0.0.1:{port}"}
            app.fixed_dt = 1.0 / 60.0
            keep_training(app)
            app.base.taskMgr.step()
            for _ in range(args.frames):
                keep_training(app)
                app.base.taskMgr.step()
            PStatClient.disconnect()
            time.sleep(0.5)
            result = {"bloom": app.scene.bloom_enabled, "edges": edge_count(app), "renderer": renderer_name(app)}
            app.destroy()
        finally:
            stats.terminate()
            stats.wait(timeout=10)
        result["draw_calls"] = last_batch_count(report_path.read_text(errors="replace"))
    return result


def process_cpu_seconds() -> float:
    """Return the user and system CPU time of this process, all threads (llvmpipe's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def hide_parts(app, names) -> list[str]:
    """Hide each named part: "2d" for every 2D panel, "world" for the whole 3D scene, else a node name in it.

    Returns the names that match nothing. Hiding parts one at a time shows what each costs
    the renderer, because the rest of the frame stays the same.
    """
    missing = []
    for name in names:
        if name == "2d":
            part = app.base.render2d
        elif name == "world":
            part = app.scene.root
        else:
            part = app.scene.root.find(f"**/{name}")
        if part.isEmpty():
            missing.append(name)
        else:
            part.hide()
    return missing


def run_fps(args) -> dict:
    configure_panda(software=False)
    app = build_explorer("default", window_size(args.size), offscreen=False, bloom=args.bloom,
                         antialias=args.antialias)
    missing = hide_parts(app, args.hide)
    if missing:
        app.destroy()
        return {"error": f"no part named {', '.join(missing)} to hide; use 2d, world or a node name "
                         f"such as teacher-edges, teacher-halo or student-halo"}
    timer = PhaseTimer()
    timer.install(app)
    keep_training(app)

    frame_seconds, task_seconds = [], []
    last = time.perf_counter()
    for index in range(args.warmup + args.frames):
        if index == args.warmup:
            process_started = process_cpu_seconds()
        keep_training(app)
        app.base.taskMgr.step()
        now = time.perf_counter()
        phases = timer.take()
        if index >= args.warmup:
            frame_seconds.append(now - last)
            task_seconds.append(phases.get("task", 0.0))
        last = now
    process_seconds = process_cpu_seconds() - process_started

    result = {
        "fps": 1.0 / median(frame_seconds),
        "frame_ms": milliseconds(frame_seconds),
        "cpu_ms": milliseconds(task_seconds),
        "process_cpu_ms": process_seconds / args.frames * 1e3,
        "frames": args.frames,
        "bloom": app.scene.bloom_enabled,
        "multisamples": app.scene.multisamples,
        "hidden": args.hide,
        "size": args.size,
        "renderer": renderer_name(app),
    }
    app.destroy()
    return result


def peak_rss_mb() -> float:
    """Return this process's peak resident set (VmHWM in /proc/self/status) in MB (10^6 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("VmHWM is missing from /proc/self/status")


def resident_mb() -> float:
    """Return this process's resident set now (VmRSS in /proc/self/status) in MB (10^6 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("VmRSS is missing from /proc/self/status")


def mapping_breakdown(smaps_text: str, top: int = MAPPINGS_LISTED) -> list[dict]:
    """Sum Rss and Anonymous (kB in smaps) per mapped file; anonymous mappings are "[anon]".

    Returns the `top` largest by resident size, in MB (10^6 bytes), largest first.
    """
    totals = defaultdict(lambda: [0, 0])
    name = None
    for line in smaps_text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if SMAPS_HEADER.match(line):
            name = " ".join(fields[5:]) or "[anon]"
        elif name is not None and fields[0] == "Rss:":
            totals[name][0] += int(fields[1])
        elif name is not None and fields[0] == "Anonymous:":
            totals[name][1] += int(fields[1])
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])[:top]
    return [{"mapping": mapping, "rss_mb": rss * 1024 / 1e6, "anonymous_mb": anonymous * 1024 / 1e6}
            for mapping, (rss, anonymous) in ranked]


def run_peak_rss(args) -> dict:
    stages = {"probe_start": resident_mb()}
    onscreen = bool(os.environ.get("DISPLAY"))
    configure_panda(software=not onscreen)
    app = build_explorer("default", window_size(args.size), offscreen=not onscreen, bloom=True,
                         antialias=args.antialias)
    stages["explorer_built"] = resident_mb()
    keep_training(app)

    frames = 0
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        keep_training(app)
        app.base.taskMgr.step()
        frames += 1
        if frames == FIRST_FRAMES:
            stages[f"after_{FIRST_FRAMES}_frames"] = resident_mb()
    stages["end"] = resident_mb()

    result = {
        "peak_rss_mb": peak_rss_mb(),
        "seconds": args.seconds,
        "frames": frames,
        "epochs": app.lab.distiller.epoch,
        "renderer": renderer_name(app),
    }
    if args.breakdown:
        result["rss_stages_mb"] = stages
        result["rss_mappings"] = mapping_breakdown(Path("/proc/self/smaps").read_text())
    app.destroy()
    return result


def run_first_frame(args) -> dict:
    """Run the kd-explorer command and record the wall clock when its first frame is rendered."""
    from game import cli
    from game.app import ExplorerApp

    stamps = []
    step_frames = ExplorerApp.step_frames

    def step_and_stamp(app, count, dt=1.0 / 60.0):
        for _ in range(count):
            step_frames(app, 1, dt)
            if not stamps:
                stamps.append(time.time())

    ExplorerApp.step_frames = step_and_stamp
    status = cli.main(["--offscreen", "--frames", "1"])
    return {"first_frame_unix_s": stamps[0] if stamps else None, "status": status}


MODES = {
    "frame-cpu": run_frame_cpu,
    "draw-calls": run_draw_calls,
    "fps": run_fps,
    "peak-rss": run_peak_rss,
    "first-frame": run_first_frame,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explorer_probe",
                                     description="Measure the explorer in this process; print JSON.")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--teacher", choices=("default", "100k"), default="default",
                        help="the shipped teacher or a fresh 64-256-256-64-10 one (98,944 edges)")
    parser.add_argument("--size", default="1280x720", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=300, help="frames measured")
    parser.add_argument("--warmup", type=int, default=30, help="frames run before measuring")
    parser.add_argument("--bloom", action=argparse.BooleanOptionalAction, default=True,
                        help="ask for the bloom filter (granted only with shader support)")
    parser.add_argument("--antialias", choices=ANTIALIAS_CHOICES, default="auto",
                        help="multisampling, as kd-explorer --antialias (default auto)")
    parser.add_argument("--hide", nargs="+", default=[], metavar="PART",
                        help="fps: hide these parts: 2d (the panels), world (the 3D scene) or node names "
                             "in it such as teacher-edges, teacher-halo, student-halo")
    parser.add_argument("--seconds", type=float, default=60.0, help="peak-rss: seconds of training")
    parser.add_argument("--breakdown", action="store_true",
                        help="peak-rss: also report resident MB by start-up stage and the largest "
                             "mappings from /proc/self/smaps (anonymous part separate)")
    args = parser.parse_args(argv)

    result = MODES[args.mode](args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
