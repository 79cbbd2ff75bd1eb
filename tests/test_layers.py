"""Dependencies point one way — handlers → models → (wechat, the app's floor) — with the
factory, CLI, jobs and demo on top, and no import cycle between files. Imports inside
functions count: hiding a cycle in a function is still a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "handlers", "models", "wechat")
# app/: what every layer may use (the floor) and what sits on top of everything.
FLOOR = {"app.config", "app.extensions", "app.db", "app.errors", "app.i18n", "app.crypto", "app.logs", "app.metrics",
         "app.ratelimit", "app.sqlbatch", "app.sessions", "app.tasks", "app.wechat"}
TOP = {"app", "app.cli", "app.jobs", "app.demo", "app.celery_app", "app.schedule", "app.serving"}
MAY_IMPORT = {"wechat": {"wechat"}, "floor": {"floor", "wechat"}, "models": {"models", "floor", "wechat"},
              "handlers": {"handlers", "models", "floor"},
              "top": {"top", "handlers", "models", "floor", "wechat"}}


def layer(module: str) -> str:
    if module in FLOOR or module in TOP:
        return "floor" if module in FLOOR else "top"
    if module.split(".")[0] in ("models", "handlers", "wechat"):
        return module.split(".")[0]
    raise AssertionError(f"{module}: which layer is it in? Add it to FLOOR or TOP in {__file__}")


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module → the project modules it imports (anywhere in the file)."""
    paths = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for package in PACKAGES for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        graph[module] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = []
                if node.level:  # relative: from the module's package, up level - 1
                    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    base = package[: len(package) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
                names = [f"{source}.{a.name}" if f"{source}.{a.name}" in paths else source for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in paths:  # a name inside a module: the module
                    name = name.rpartition(".")[0]
                if name and name != module:
                    graph[module].add(name)
    return graph


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} → {b}" for a, targets in graph.items() for b in targets
                  if layer(b) not in MAY_IMPORT[layer(a)])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one file (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_dependencies_point_one_way():
    assert wrong_way(import_graph()) == []


def test_no_import_cycle_between_files():
    assert cycles(import_graph()) == []


def test_the_checks_catch_a_wrong_way_import_and_a_cycle():
    graph = {"models.orders.placement": {"handlers.orders", "app.db"}, "handlers.orders": {"models.orders.placement"},
             "app.db": {"app.cli"}, "app.cli": {"models.orders.placement"}, "wechat.client": {"app.errors"}}
    assert wrong_way(graph) == ["app.db → app.cli", "models.orders.placement → handlers.orders",
                                "wechat.client → app.errors"]
    assert cycles(graph) == [["app.cli", "app.db", "handlers.orders", "models.orders.placement"]]
