"""Figures of training and evaluation as PNG: the curves of a run (loss and validation score per epoch, one line per
network of an ensemble; a language model's loss against training time too), and a classifier's or tagger's
confusion matrix and F1 per class.

matplotlib is an optional extra (``pip install 'rnnkit[plots]'``): nothing here imports it until a figure is drawn,
so training and prediction never need it. Figures are drawn on a ``Figure`` with its own Agg canvas, not through
``pyplot``, so no global backend is switched and no window opens on a machine with a display. NumPy only, no torch.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.errors import RnnkitWarning

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INSTALL = "pip install 'rnnkit[plots]'"
CONFUSION = "confusion.png"
F1 = "f1.png"
_noticed = False  # the missing-matplotlib notice is given once per process, not once per run


def plots_available() -> bool:
    """Whether matplotlib can be imported, so that figures can be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def notice_missing(what: str) -> None:
    """Say, once per process, that ``what`` is not drawn because matplotlib is missing: a user training many
    models in a loop hears it once, and training itself goes on unchanged."""
    global _noticed
    if not _noticed:
        _noticed = True
        warnings.warn(f"{what} not drawn: plots need matplotlib ({INSTALL})", RnnkitWarning, stacklevel=2)


def new_figure(width: float, height: float) -> Figure:
    """A figure with its own Agg canvas: no pyplot, no global backend, no window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes, to be written atomically (:func:`rnnkit.io.atomic_write_bytes`)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _series(history: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Epochs and values of ``key`` in the records that have it."""
    pairs = [(r["epoch"], r[key]) for r in history if r.get(key) is not None]
    return [e for e, _ in pairs], [v for _, v in pairs]


def training_curves(histories: list[list[dict[str, Any]]], score: str, against_time: bool = False) -> Figure:
    """Training and validation loss, and the validation ``score`` (a record's ``valid_<score>``), per epoch: one
    colour per network of an ensemble, so a member that went astray shows. With ``against_time``, also the loss
    against training time (the sum of the epochs' ``seconds``), which compares runs of different speeds.

    ``histories`` are the per-epoch records of each network (``training["members"][k]["history"]``). A panel with
    nothing to show (no validation set: no score) is left out.
    """
    from matplotlib.ticker import MaxNLocator

    many = len(histories) > 1
    panels = ["loss"]
    if any(f"valid_{score}" in r for h in histories for r in h):
        panels.append("score")
    if against_time:
        panels.append("time")
    figure = new_figure(4.5 * len(panels), 3.6)
    axes = dict(zip(panels, figure.subplots(1, len(panels), squeeze=False)[0], strict=True))
    for k, history in enumerate(histories):
        colour, member = f"C{k % 10}", f"member {k + 1}" if many else None
        prefix = f"{member} " if member else ""
        axes["loss"].plot(*_series(history, "train_loss"), color=colour, marker=".", label=f"{prefix}training")
        if any("valid_loss" in r for r in history):
            axes["loss"].plot(
                *_series(history, "valid_loss"), color=colour, marker=".", linestyle="--", label=f"{prefix}validation"
            )
        if "score" in axes:
            axes["score"].plot(*_series(history, f"valid_{score}"), color=colour, marker=".", label=member)
        if "time" in axes:
            seconds = np.cumsum([r.get("seconds", 0.0) for r in history])
            axes["time"].plot(seconds, [r["train_loss"] for r in history], color=colour, marker=".")
            if any("valid_loss" in r for r in history):
                valid = [r.get("valid_loss", np.nan) for r in history]
                axes["time"].plot(seconds, valid, color=colour, marker=".", linestyle="--")
    shown = {"macro_f1": "macro-F1", "bits_per_character": "bits per character"}.get(score, score)
    titles = {"loss": "loss per epoch", "score": f"validation {shown}", "time": "loss over time"}
    for panel, ax in axes.items():
        ax.set_title(titles[panel])
        ax.set_xlabel("training time (s)" if panel == "time" else "epoch")
        ax.grid(alpha=0.3)
        if panel != "time":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes["loss"].set_ylabel("loss (nats)")
    axes["loss"].legend(fontsize="small")
    if many and "score" in axes:
        axes["score"].legend(fontsize="small")
    return figure


def evaluation_figures(report: dict[str, Any]) -> dict[str, Figure]:
    """The figures ``rnnkit evaluate --plots`` writes, by file name, for a classifier's or tagger's report."""
    return {CONFUSION: confusion_figure(report), F1: f1_figure(report)}


def _report_parts(report: dict[str, Any]) -> tuple[list[str], np.ndarray, dict[str, dict[str, Any]]]:
    """Names, confusion matrix and per-name figures of a classifier's report or a tagger's."""
    if "per_tag" in report:
        return report["tags"], np.asarray(report["confusion_matrix"]), report["per_tag"]
    return report["labels"], np.asarray(report["confusion_matrix"]), report["per_class"]


def _font_size(count: int) -> float:
    """Tick labels that stay readable and apart: 10 pt up to 15 names, smaller beyond, 6 pt from 25 on (a row is
    about 19 pt high then)."""
    return 10.0 if count <= 15 else max(6.0, 150 / count)


def confusion_figure(report: dict[str, Any]) -> Figure:
    """The confusion matrix of a classifier's or tagger's report: counts in the cells, coloured by the share of
    each true class (its row), so a small class's mistakes show as clearly as a large one's."""
    names, matrix, _ = _report_parts(report)
    count = len(names)
    rows = matrix.sum(1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    side = min(16.0, max(5.0, 2.5 + 0.27 * count))
    figure = new_figure(side + 1.2, side)
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    size = _font_size(count)
    ax.set_xticks(range(count), names, rotation=90, fontsize=size)
    ax.set_yticks(range(count), names, fontsize=size)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({int(matrix.sum()):,} {'tokens' if 'per_tag' in report else 'examples'})")
    cell_size = size if count <= 15 else max(4.0, size - 1)
    for i, j in zip(*np.nonzero(matrix), strict=True):
        colour = "white" if shares[i, j] > 0.6 else "black"
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=cell_size, color=colour)
    return figure


def f1_figure(report: dict[str, Any]) -> Figure:
    """F1 per class (or tag) of a report as horizontal bars, in the report's order, with each class's support and
    the macro-F1 as a line: the classes that pull the average down show at a glance."""
    names, _, figures = _report_parts(report)
    count = len(names)
    f1 = [figures[name]["f1"] for name in names]
    labels = [f"{name} ({figures[name]['support']:,})" for name in names]
    figure = new_figure(7.0, min(16.0, max(3.0, 1.2 + 0.28 * count)))
    ax = figure.subplots()
    ax.barh(range(count), f1, color="C0")
    ax.set_yticks(range(count), labels, fontsize=_font_size(count))
    ax.set_ylim(count - 0.5, -0.5)  # the first class on top, as in the printed report
    ax.axvline(report["macro_f1"], color="C3", linestyle="--")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("F1 (support in brackets)")
    kind = "tag" if "per_tag" in report else "class"
    ax.set_title(f"F1 per {kind}; macro-F1 {report['macro_f1']:.3f} (dashed line)")
    ax.grid(axis="x", alpha=0.3)
    return figure
