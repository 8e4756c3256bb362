"""The help overlay (every control, every colour and shape) and the captions along the bottom.

Captions explain one idea at a time, each with its formula evaluated on the lab's live numbers
for the current digit. They take turns on a timer, and the app can bring one forward, for
example the temperature caption while the slider moves.
"""

from __future__ import annotations

import numpy as np
from direct.gui import DirectGuiGlobals as DGG
from direct.gui.DirectGui import DirectFrame, DirectLabel
from panda3d.core import NodePath, TextNode, TransparencyAttrib

from game.widgets import BakedText, QuadBatch, symbol

OVERLAY_BOX = (-1.34, 1.34, -0.86, 0.86)
OVERLAY_COLOR = (0.02, 0.03, 0.06, 0.9)
DIMMER_COLOR = (0.0, 0.0, 0.0, 0.75)
TITLE_SCALE = 0.058
HEADING_SCALE = 0.036
TEXT_SCALE = 0.031
TEXT_COLOR = (0.86, 0.9, 0.98, 1.0)
HEADING_COLOR = (0.45, 0.65, 1.0, 1.0)
MUTED_COLOR = (0.6, 0.66, 0.8, 1.0)
# Each column (key and meaning) is this wide. Rows step down by ROW_STEP, plus WRAP_STEP for
# each extra line of a wrapped meaning, all in aspect2d units.
COLUMN_WIDTH = 1.25
ROW_STEP = 0.047
WRAP_STEP = 0.036

CAPTION_Z = -0.865
CAPTION_BOX = (-1.1, 1.1, -0.98, -0.82)
CAPTION_COLOR = (0.02, 0.03, 0.07, 0.75)
CAPTION_SCALE = 0.034
CAPTION_WRAP = 62  # in units of the text scale, so about 2.1 in aspect2d units
CAPTION_SECONDS = 9.0
CAPTION_REFRESH_S = 0.25
CAPTION_ORDER = ("soft_labels", "temperature", "soft_loss", "hard_loss", "total_loss")

CONTROLS = (
    ("Left-drag", "orbit around the scene"),
    ("Right- or middle-drag", "pan"),
    ("Mouse wheel", "zoom"),
    ("W A S D  or arrows", "move"),
    ("Q / E", "move down / up"),
    ("1  2  3  4", "views: overview, teacher, student, outputs"),
    ("Home", "back to the overview"),
    ("Space", "train / pause"),
    ("R", "reset the student to its untrained weights"),
    ("N / B,  ] / [,  PgDn / PgUp", "next / previous held-out digit"),
    ("-  /  =  or  +", "temperature down / up by 1"),
    ("G", "race a scratch student (hard labels only)"),
    ("M", "dark-knowledge map"),
    ("C", "draw your own digit"),
    ("X", "experiments: leave a digit out, save, load"),
    ("Ctrl+S  /  Ctrl+O", "save the student / load the latest"),
    ("Ctrl+E", "export the training curves as CSV"),
    ("H  or  F1", "this help"),
    ("Esc", "close the help and the overlays"),
    ("F12  or  P", "save a screenshot"),
    ("F10  or  V", "start / stop recording a video"),
)


def sliders(tau: str, alpha: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Speed slider", "training speed, in epochs per second"),
        (f"Temperature {tau} slider", "softens both outputs; 1 is the plain softmax"),
        (f"Soft-target weight {alpha}", f"share of the soft loss: {alpha} = 1 uses only the teacher"),
    )


def legend(tau: str, teacher_widths: str, student_widths: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Left card", "the input: one held-out 8x8 digit"),
        ("Top network", f"the teacher, {teacher_widths}, frozen"),
        ("Bottom network", f"the student, {student_widths}, in training"),
        ("Glowing dots", "neurons; brighter for a larger activation"),
        ("Output column", f"one dot per class, lit by its p at {tau}"),
        ("Orange / blue lines", "positive / negative weights"),
        ("White-hot lines", "edges carrying this digit's signal"),
        ("Travelling sparks", "a new input passing layer by layer"),
        ("Sparks between outputs", "soft targets flowing while training"),
        ("Solid bars", f"output probabilities at the chosen {tau}"),
        ("Bar outlines", f"the same outputs at {tau} = 1"),
        ("Gold class label", "the digit's true class"),
    )


def readouts(tau: str) -> tuple[tuple[str, str], ...]:
    return (
        ("KL readout", f"KL from teacher to student at {tau}, in nats; 0 = same"),
        ("Match gauge", "exp(-KL): 100 % when both outputs agree"),
        ("Held-out digits", "guesses per digit: start = untrained student, "
                            "now = student, teacher; green right"),
        ("Loss plot", "soft, hard and total loss per epoch"),
        ("Accuracy plot", "held-out accuracy per epoch; green: scratch"),
        ("Experiments (X)", "leave a digit out; save, load, export"),
    )


class HelpOverlay:
    """A centred panel listing every control and what each colour and shape means.

    Its texts never change. They are merged into one Geom per font page and drawn over the
    dimmer and the backing, which share one QuadBatch.
    """

    def __init__(self, parent: NodePath, teacher_widths: str, student_widths: str, font=None):
        tau = symbol(font, "τ", "tau") if font is not None else "tau"
        alpha = symbol(font, "α", "alpha") if font is not None else "alpha"
        self.font = font
        # Plain cards and text in a bin drawn after the panels' "unsorted" bin, so the overlay
        # covers every panel while shown.
        self.root = parent.attachNewNode("help-overlay")
        self.root.setBin("gui-popup", 0)
        self.root.setTransparency(TransparencyAttrib.MAlpha)
        left, right, bottom, top = OVERLAY_BOX
        backing = QuadBatch(self.root, 2, "help-backing")
        # The dimmer is larger than any window, also where the layout is shrunk to fit one.
        backing.set_rects([-4.0, left], [-4.0, bottom], [4.0, right], [4.0, top])
        backing.set_colors(np.array([DIMMER_COLOR, OVERLAY_COLOR]))
        self.text_layer = self.root.attachNewNode("help-text")

        self._text("KD Explorer: how to read and drive it", (0, top - 0.1), TITLE_SCALE, TEXT_COLOR,
                   TextNode.ACenter)
        self._text("Press H, F1 or Esc to close", (0, bottom + 0.05), TEXT_SCALE, MUTED_COLOR, TextNode.ACenter)

        z = self._column("Controls", CONTROLS, left + 0.08, top - 0.2, 0.5)
        self._column("Sliders", sliders(tau, alpha), left + 0.08, z - 0.03, 0.5)
        z = self._column("What you see", legend(tau, teacher_widths, student_widths), 0.0, top - 0.2, 0.45)
        self._column("Readouts and panels", readouts(tau), 0.0, z - 0.03, 0.45)

        # Baking removes the TextNodes, so hidden copies keep every text findable as a TextNode
        # under the root. They draw nothing.
        self.sources = self.root.attachNewNode("help-text-sources")
        self.sources.hide()
        texts = list(self.text_layer.getChildren())
        for path in texts:
            path.copyTo(self.sources)
        # BakedText, unlike bake_text(), folds the three text colours into the vertices, so
        # the text is one Geom per font page instead of one per colour. It is never rebaked.
        self.text = BakedText(self.text_layer, texts, "help-text")
        self.root.hide()

    def _text(self, text, position, scale, color, align, wrap=None) -> TextNode:
        node = TextNode("help-text")
        if self.font is not None:
            node.setFont(self.font)
        node.setText(text)
        node.setTextColor(*color)
        node.setAlign(align)
        if wrap is not None:
            node.setWordwrap(wrap)
        path = self.text_layer.attachNewNode(node)
        path.setPos(position[0], 0, position[1])
        path.setScale(scale)
        return node

    def _column(self, title, rows, x, z, key_width) -> float:
        """Write a heading and its (key, meaning) rows downward from z; return the next free z."""
        self._text(title.upper(), (x, z), HEADING_SCALE, HEADING_COLOR, TextNode.ALeft)
        z -= 0.066
        for key, meaning in rows:
            self._text(key, (x, z), TEXT_SCALE, TEXT_COLOR, TextNode.ALeft)
            node = self._text(meaning, (x + key_width, z), TEXT_SCALE, MUTED_COLOR, TextNode.ALeft,
                              wrap=(COLUMN_WIDTH - key_width) / TEXT_SCALE)
            z -= ROW_STEP + WRAP_STEP * (max(1, node.getNumRows()) - 1)
        return z

    @property
    def shown(self) -> bool:
        return not self.root.isHidden()

    def toggle(self) -> None:
        if self.shown:
            self.root.hide()
        else:
            self.root.show()

    def destroy(self) -> None:
        self.root.removeNode()


class Captions:
    """One caption at a time in the bottom strip, with its formula on live numbers."""

    def __init__(self, parent: NodePath, lab, font=None):
        self.lab = lab
        self.tau = symbol(font, "τ", "tau") if font is not None else "tau"
        self.alpha = symbol(font, "α", "alpha") if font is not None else "alpha"
        self.kl_bar = symbol(font, "‖", "||") if font is not None else "||"
        self.times = symbol(font, "×", "x") if font is not None else "x"
        self.minus = symbol(font, "−", "-") if font is not None else "-"

        x0, x1, z0, z1 = CAPTION_BOX
        self.root = DirectFrame(parent=parent, frameColor=CAPTION_COLOR, relief=DGG.FLAT,
                                frameSize=(x0, x1, z0, z1))
        self.label = DirectLabel(parent=self.root, text="", text_font=font, text_scale=CAPTION_SCALE,
                                 text_fg=TEXT_COLOR, text_align=TextNode.ACenter,
                                 text_wordwrap=CAPTION_WRAP, relief=None, pos=(0, 0, CAPTION_Z))
        self.topic_index = 0
        self.topic_clock = 0.0
        self.refresh_clock = CAPTION_REFRESH_S

    @property
    def topic(self) -> str:
        return CAPTION_ORDER[self.topic_index]

    def show(self, topic: str) -> None:
        """Bring `topic` forward now and hold it for a full turn."""
        self.topic_index = CAPTION_ORDER.index(topic)
        self.topic_clock = 0.0
        self.refresh()

    def update(self, dt: float) -> None:
        self.topic_clock += dt
        if self.topic_clock >= CAPTION_SECONDS:
            self.topic_clock = 0.0
            self.topic_index = (self.topic_index + 1) % len(CAPTION_ORDER)
            self.refresh_clock = CAPTION_REFRESH_S
        self.refresh_clock += dt
        if self.refresh_clock >= CAPTION_REFRESH_S:
            self.refresh_clock = 0.0
            self.refresh()

    def refresh(self) -> None:
        text = getattr(self, f"_{self.topic}")()
        if self.label["text"] != text:
            self.label["text"] = text

    # --- the captions -----------------------------------------------------------------------

    def _soft_labels(self) -> str:
        snapshot = self.lab.outputs()
        top = snapshot.teacher_top1
        others = sorted((k for k in range(len(snapshot.teacher_probs)) if k != top),
                        key=lambda k: -snapshot.teacher_probs[k])[:3]
        listed = ",  ".join(f"{k}: {snapshot.teacher_probs[k]:.3f}" for k in others)
        return (f"Soft labels: the teacher's whole output distribution, not just its answer. For this "
                f"digit it says {top} ({snapshot.teacher_probs[top]:.2f}), and also {listed}. "
                f"Those small probabilities are the dark knowledge the student learns from.")

    def _temperature(self) -> str:
        snapshot = self.lab.outputs()
        top = snapshot.teacher_top1
        tau = snapshot.temperature
        return (f"Temperature: p_i = exp(z_i / {self.tau}) / Σ_j exp(z_j / {self.tau}). At {self.tau} = {tau:.1f} "
                f"the teacher gives its top class {top} p = {snapshot.teacher_probs[top]:.3f}; "
                f"at {self.tau} = 1 it gives {snapshot.teacher_probs_t1[top]:.3f}. "
                f"A higher {self.tau} spreads probability onto the other classes.")

    def _soft_loss(self) -> str:
        snapshot = self.lab.outputs()
        soft, _, _ = self.lab.sample_losses()
        tau = snapshot.temperature
        return (f"soft loss = {self.tau}²·KL(teacher_{self.tau} {self.kl_bar} student_{self.tau}) "
                f"= {tau:.1f}² {self.times} {snapshot.kl:.3f} = {soft:.3f} for this digit. "
                f"It pulls the student's softened outputs toward the teacher's; {self.tau}² keeps its "
                f"gradient comparable across temperatures.")

    def _hard_loss(self) -> str:
        snapshot = self.lab.outputs()
        _, hard, _ = self.lab.sample_losses()
        if hard is None:
            return ("hard loss = cross-entropy against the true label at τ = 1. A drawn digit has no "
                    "label, so only the soft loss applies to it.").replace("τ", self.tau)
        p = snapshot.student_probs_t1[snapshot.label]
        return (f"hard loss = {self.minus}log p_student(true class) = {self.minus}log {p:.3f} = {hard:.3f} "
                f"for this {snapshot.label}: ordinary cross-entropy against the label, at {self.tau} = 1.")

    def _total_loss(self) -> str:
        soft, hard, total = self.lab.sample_losses()
        alpha = self.lab.alpha
        if hard is None:
            return f"total loss = {self.alpha}·soft + (1 {self.minus} {self.alpha})·hard; a drawn digit has no hard loss."
        return (f"total loss = {self.alpha}·soft + (1 {self.minus} {self.alpha})·hard = {alpha:.2f} {self.times} "
                f"{soft:.3f} + {1 - alpha:.2f} {self.times} {hard:.3f} = {total:.3f} for this digit. "
                f"{self.alpha} sets how much the student listens to the teacher versus the labels.")

    def destroy(self) -> None:
        self.root.destroy()
