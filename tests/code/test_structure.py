"""The shape of the code (issue 27): no import circle anywhere in ``src/rnnkit`` (imports inside functions count:
they are circles all the same, only postponed), no function over 100 lines, and outside ``rnnkit/tasks/`` no branch
on a task's name or class but the few that say why in a comment."""

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "rnnkit"
MAX_FUNCTION_LINES = 100


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def typing_only(tree: ast.Module) -> set[ast.AST]:
    """The statements under ``if TYPE_CHECKING:``, which never run."""
    blocks = [n for n in ast.walk(tree) if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    return {inner for block in blocks for statement in block.body for inner in ast.walk(statement)}


def imports_of(name: str, path: Path) -> set[str]:
    """The rnnkit modules ``name`` imports anywhere in its text but for type checkers (``from a import b`` is
    ``a.b`` where that is a module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = typing_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    graph = {name: imports_of(name, path) for name, path in MODULES.items()}
    assert cycles(graph) == []


def test_no_function_is_over_100_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []


TASK_NAMES = {"classify", "lm", "tag", "translate"}
MAX_TASK_BRANCHES = 5


def task_branches(name: str, path: Path) -> list[tuple[int, str]]:
    """The lines of ``name`` that branch on a task: a comparison with a task's name, a dict keyed by task names,
    an ``isinstance`` with a class imported from a task's package."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    task_classes = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnkit.tasks.")
        for alias in node.names
        if alias.name[:1].isupper()
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            operands += [e for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set) for e in o.elts]
            if any(isinstance(o, ast.Constant) and o.value in TASK_NAMES for o in operands):
                found.add(node.lineno)
        elif isinstance(node, ast.Dict):
            if sum(isinstance(k, ast.Constant) and k.value in TASK_NAMES for k in node.keys) >= 2:
                found.add(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and any(isinstance(n, ast.Name) and n.id in task_classes for n in ast.walk(node.args[1]))
        ):
            found.add(node.lineno)
    lines = source.splitlines()
    return [(line, lines[line - 1].strip()) for line in sorted(found)]


def test_outside_the_task_packages_no_code_branches_on_a_task_but_a_few_that_say_why():
    found = {
        f"{name}:{line}": text
        for name, path in MODULES.items()
        if not name.startswith("rnnkit.tasks.")
        for line, text in task_branches(name, path)
    }
    assert len(found) <= MAX_TASK_BRANCHES, found
    assert all("#" in text for text in found.values()), found  # each says why, in a comment
