"""What a kind of model is, and the one registry of them: the shared machinery asks the task for what differs.

A recurrent network on text is one body (embedding -> :class:`rnnkit.nn.Recurrent`) with a head that reads it. A
*task* is everything that differs from one kind of model to another: how a file becomes examples, the head and its
loss, the validation score, what the network's output means, how its figures are printed, what ``inspect`` reads
and draws, what ``serve`` answers. Each task is one package, ``rnnkit/tasks/<name>/``, whose ``__init__`` defines
a :class:`Task` and registers it; the command line, the Python API, the model directory, export, loading, serving
and inspection ask the registered task and name none.

The registry is this module: :func:`register` (a package registers its task when it is imported), :func:`get`
(the task of a name, as ``--task`` and ``config.json`` give it), :func:`registered` (every task, in order). The
built-in tasks are named in ``BUILTIN``, the one line a new task adds; tasks of other packages register through
the ``rnnkit.tasks`` entry point group, or by calling :func:`register` themselves. Nothing here imports torch, so
the registry serves ``rnnkit --help`` and prediction on onnxruntime alike; a task imports its heavy parts in the
methods that need them.

How flair and fairseq do it, and what was taken: flair's model *is* its task (``forward_loss``, ``evaluate``,
``save``/``load`` through one base class), fairseq registers tasks by name and asks them to ``build_model``,
``train_step`` and ``valid_step``. Here the task is a small object that the shared modules ask, the network stays a
plain ``nn.Module`` on the shared body, and one training loop (:mod:`rnnkit.training.trainer`) runs the task's
objective (:mod:`rnnkit.training.objective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from rnnkit.errors import RnnkitError

__all__ = [
    "BUILTIN", "SHARED_DEFAULTS", "Option", "Task", "build", "get", "get_or_none", "names", "register", "registered",
    "task_of_config", "unregister",
]  # fmt: skip

# The tasks that come with rnnkit, in the order the command line lists them: one line per task package.
BUILTIN = ("classify", "lm", "tag", "translate")
# The defaults of shared options that a task's table or preset may change (the classifier's fast preset trains on
# every row): a plain option default could not tell a value given from one to replace.
SHARED_DEFAULTS: dict[str, Any] = {"valid_split": 0.1}
ENTRY_POINTS = "rnnkit.tasks"  # other packages' tasks: "name = package.module" in this entry point group


@dataclass(frozen=True)
class Option:
    """One option of ``rnnkit train`` and keyword of ``rnnkit.train``: the command line's flag and help are made
    from it, and its value is checked by it (:mod:`rnnkit.options`).

    ``default`` is what every task shares. A ``per_task`` option's default lives in each task's table instead
    (:attr:`Task.defaults`), and a task whose table does not name it does not take it (``--bidirectional`` is not a
    language model's); a task's own options are always its own. ``kind`` is
    ``"str"``, ``"int"``, ``"float"``, ``"file"`` (a path to a file), ``"dir"``, ``"flag"`` (``--x``),
    ``"switch"`` (``--x/--no-x``) or ``"list"`` (repeatable). ``auto`` says what a default of ``None`` means
    (shown in the help); ``minimum`` and ``fraction`` (a share in [0, 1)) are checked; ``run_only`` marks an option
    that says how a run goes, not what it trains (it may change on ``--resume``).
    """

    name: str
    help: str = ""
    kind: str = "str"
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    fraction: bool = False
    auto: str | None = None
    short: str | None = None
    run_only: bool = False
    per_task: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Task:
    """A kind of model: the questions the shared machinery asks, each answered by the task's own package.

    A subclass sets the class attributes and fills in the methods; the ones left as they are here say, in one
    line, that the task does not do that (a verb that does not apply). Methods import the task's heavy modules
    (torch, onnxruntime) only when called.
    """

    name: str = ""  # as --task and config.json's "task" give it
    title: str = ""  # "a text classifier": what the model is, in a sentence
    plural: str = ""  # "text classifiers": what the models are, as a sentence says of several
    noun: str = ""  # "classifier": the word a page's heading uses
    verb: str = "predict"  # the command that uses a trained model: rnnkit predict, generate, translate ...
    options: tuple[Option, ...] = ()  # the task's own options (the shared ones are in rnnkit.options)
    defaults: dict[str, Any] = {}  # the task's defaults, of shared options and its own: the one place they live
    several_files: bool = False  # whether it trains on several files at once (a language model's corpus)
    labels: str | None = None  # what a model's labels are called ("classes", "tags"), or None without labels
    vocabularies: tuple[str, ...] = ("tokens",)  # the named vocabularies its model directory holds
    files: tuple[str, ...] = ()  # further files of its model directory (data, never code), checked like the rest
    cli_module: str | None = None  # its command-line parts: verbs of its own, options it adds to shared verbs
    evaluation_plots: tuple[str, ...] = ()  # the figures ``rnnkit evaluate --plots`` draws for it
    # What the service's page shows (rnnkit/serving/index.html): a form ("text" or "prompt"), the endpoint it posts to,
    # the button's word, and the kind of answer to draw ("labels", "tags", "translations"; a prompt is streamed).
    page: dict[str, str] = {}
    # What a request to each of its endpoints costs the server, in one-text POST /predict requests of CPU time
    # (benchmarks/serve_costs.py): what it takes from a client's --rate. An endpoint not named costs 1.
    costs: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<task {self.name!r}: {self.title}>"

    def unsupported(self, what: str) -> RnnkitError:
        """The one-line error of something this task does not do."""
        return RnnkitError(f"{what} is not for {self.plural or self.name + ' models'}")

    # ------------------------------------------------------------------------------------------- options
    def implied_by(self, data: Any) -> bool:
        """Whether a training file implies this task without ``--task`` (a CoNLL-U file: a tagger)."""
        return False

    def resolve(self, options: Any) -> dict[str, Any]:
        """The defaults for ``options`` (a :class:`rnnkit.options.TrainOptions`), where they depend on other
        options (a preset); by default :attr:`defaults` over :data:`SHARED_DEFAULTS`."""
        return {**SHARED_DEFAULTS, **self.defaults}

    def complete(self, options: Any) -> None:
        """Fill in what depends on other options once the defaults are in (a language model ties its decoder where
        the sizes allow)."""

    def check(self, options: Any) -> None:
        """Refuse, in one line, options of this task that cannot work together."""

    # --------------------------------------------------------------------------------------- the network
    @property
    def config_class(self) -> type:
        """The task's network settings: a torch-free dataclass saved in ``config.json``
        (:class:`rnnkit.models.config.Settings`), which knows its weights' names and shapes."""
        raise NotImplementedError

    def build(self, config: Any) -> Any:
        """A new network (an ``nn.Module``) of ``config``, initialised from torch's random stream."""
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------- training
    def train(self, data: Any, options: Any) -> Any:
        """Train a model on ``data`` with resolved ``options``: its trained pipeline, saved in its run directory."""
        raise NotImplementedError

    def training_summary(self, model: Any) -> list[str]:
        """What ``rnnkit train`` prints after training, below the line that says where the model went."""
        return []

    def curves(self, training: dict[str, Any]) -> tuple[str, bool]:
        """The validation figure that ``curves.png`` draws beside the losses, and whether the loss is also drawn
        against time."""
        return "loss", False

    # -------------------------------------------------------------------------------------- command line
    def cli(self) -> Any:
        """The module of its command-line parts (``cli_module``): ``COMMANDS``, verbs of its own; ``OPTIONS``,
        ``{verb: [click.Option ...]}`` that it adds to shared verbs; and the functions that run them
        (``predict``, ``evaluate``). ``None`` without one."""
        return import_module(self.cli_module) if self.cli_module else None

    def commands(self) -> list[Any]:
        """The verbs it adds to the command line (``click.Command``s)."""
        cli = self.cli()
        return list(getattr(cli, "COMMANDS", ())) if cli is not None else []

    def verb_options(self, verb: str) -> list[Any]:
        """The options (``click.Option``s) it adds to the shared ``verb``."""
        cli = self.cli()
        return list(getattr(cli, "OPTIONS", {}).get(verb, ())) if cli is not None else []

    def predict(self, model: Any, lines: Any, format_: str, batch_size: int, **options: Any) -> None:
        """``rnnkit predict``: answer each of ``lines()`` (the texts, as they come) in ``format_``."""
        cli = self.cli()
        if cli is None or not hasattr(cli, "predict"):
            raise self.unsupported("rnnkit predict")
        cli.predict(model, lines, format_, batch_size, **options)

    def evaluate(self, model: Any, data: Any, **options: Any) -> tuple[dict[str, Any], list[str]]:
        """``model``'s figures on the file ``data`` (read with the options the task adds to ``rnnkit evaluate``),
        and the lines that say what was read."""
        cli = self.cli()
        if cli is None or not hasattr(cli, "evaluate"):
            raise self.unsupported("rnnkit evaluate")
        return cli.evaluate(model, data, **options)

    def unit_texts(self, path: str) -> Any:
        """The texts of ``inspect --units FILE``: one per line (a language model reads running text instead)."""
        from rnnkit.data.readers import read_text_file

        return (line for line in read_text_file(path).splitlines() if line.strip())

    # ---------------------------------------------------------------------------------------------- use
    def check_saved(self, saved: Any, where: str) -> None:
        """Refuse, in one line (:class:`rnnkit.errors.ModelFileError`), a read model directory at ``where`` whose
        task's own files (:attr:`files`) do not fit its network; the shared checks have passed."""

    def pipeline(self, saved: Any, engine: str = "auto") -> Any:
        """The torch pipeline of a read and checked model directory (:class:`rnnkit.modeldir.SavedModel`)."""
        raise NotImplementedError

    def onnx_model(self, saved: Any, source: str) -> Any:
        """The model of a read and checked model directory, run by onnxruntime without torch."""
        raise NotImplementedError

    def format_report(self, report: dict[str, Any]) -> str:
        """An evaluation report as ``rnnkit evaluate`` prints it."""
        return "\n".join(f"{k}: {v}" for k, v in report.items() if isinstance(v, int | float | str))

    def evaluation_figures(self, report: dict[str, Any]) -> dict[str, Any]:
        """``rnnkit evaluate --plots``: figures by file name."""
        raise self.unsupported("--plots")

    # ------------------------------------------------------------------------------------------- export
    def export(self, saved: Any, metadata: dict[str, str]) -> Any:
        """The ONNX model (``onnx.ModelProto``) of a read model directory, with ``metadata`` (what every exported
        file holds: format, task, tokenizer, vocabulary) and the task's own."""
        raise self.unsupported("rnnkit export")

    def export_difference(self, saved: Any, data: bytes) -> float:
        """The largest difference between onnxruntime running the exported ``data`` and the torch network."""
        raise NotImplementedError

    def read_exported(self, exported: Any) -> Any:
        """The model of an exported file, from its checked parts (:class:`rnnkit.exported.ExportedFile`)."""
        raise self.unsupported("an exported file")

    # ---------------------------------------------------------------------------------------- inspection
    def inspect(self, model: Any, text: Any, member: int | None, attributions: bool) -> dict[str, Any]:
        """One text (or a list of tokens) as the torch ``model`` reads it (the schema is in
        :mod:`rnnkit.inspection`); ``member`` picks one network of an ensemble, where the task has ensembles."""
        raise self.unsupported("rnnkit inspect")

    def unit_readings(self, model: Any, member: int | None) -> Any:
        """What ``inspect --units`` reads (:class:`rnnkit.inspection.units.UnitReading`): the network, its pieces
        of a text, and the properties to track."""
        raise self.unsupported("inspect --units")

    @property
    def drawing(self) -> Any:
        """The module that draws this task's prediction in an inspection: ``page(data, prediction)`` (HTML),
        ``figure(ax, data, tokens, level)`` and ``figure_rows(data)`` (the PNG), ``answer(prediction)``,
        ``headline(data)`` and ``columns(data, attributions)`` (the terminal)."""
        raise self.unsupported("rnnkit inspect")

    # ------------------------------------------------------------------------------------------- serving
    def endpoints(self) -> tuple[str, ...]:
        """The paths of the HTTP endpoints that ``rnnkit serve`` mounts for this task's models."""
        return ()

    def mount(self, app: Any, service: Any) -> None:
        """Add this task's endpoints to the service's ``app`` (FastAPI); ``service``
        (:class:`rnnkit.serving.app.Service`) gives the model served, the limits, batchers and the checks of a
        request's texts."""


_REGISTRY: dict[str, Task] = {}
_loaded = False


def register(task: Task) -> Task:
    """Add ``task`` to the registry under its name (a package calls this when it is imported); returns it."""
    if not task.name or not task.name.isidentifier():
        raise ValueError(f"a task needs a name that is an identifier, got {task.name!r}")
    known = _REGISTRY.get(task.name)
    if known is not None and type(known) is not type(task):
        raise ValueError(f"two tasks are named {task.name!r}: {type(known).__name__} and {type(task).__name__}")
    _REGISTRY[task.name] = task
    return task


def unregister(name: str) -> None:
    """Take the task ``name`` out of the registry (a task registered for a while, as a test registers one)."""
    _REGISTRY.pop(name, None)


def _load() -> None:
    """Import the built-in task packages and those of the entry point group, once; each registers its task."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        import_module(f"{__name__}.{name}")
    for entry in entry_points(group=ENTRY_POINTS):
        import_module(entry.value.split(":")[0])


def registered() -> dict[str, Task]:
    """Every task, by name: the built-in ones first, in their order (whichever package was imported first), then
    the others as they registered."""
    _load()
    order = sorted(_REGISTRY, key=lambda name: BUILTIN.index(name) if name in BUILTIN else len(BUILTIN))  # stable
    return {name: _REGISTRY[name] for name in order}


def names() -> tuple[str, ...]:
    return tuple(registered())


def get(name: str) -> Task:
    """The task called ``name``; an unknown name is a one-line :class:`RnnkitError` naming the known ones."""
    tasks = registered()
    if name not in tasks:
        raise RnnkitError(f"--task must be one of {', '.join(tasks)}, got {name!r}")
    return tasks[name]


def get_or_none(name: str) -> Task | None:
    """The task called ``name``, or ``None``."""
    return registered().get(name)


def task_of_config(config: Any) -> Task:
    """The task whose network ``config`` describes (its settings' class)."""
    for task in registered().values():
        if isinstance(config, task.config_class):
            return task
    raise ValueError(f"no task has settings of the kind {type(config).__name__}")


def build(config: Any) -> Any:
    """A new network (an ``nn.Module``) for ``config``, by its task, initialised from torch's random stream."""
    return task_of_config(config).build(config)
