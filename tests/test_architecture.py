"""The layering of DESIGN.md, checked on the source: no import circles, nothing flows back up.

Every ``import`` statement of the package counts, also those inside functions and under
``TYPE_CHECKING``: a lazy import hides a circle from the interpreter, not from the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "powderkeg"

#: Top-level packages by layer (surfaces -> service -> analytics -> data).
SURFACES = ("api", "cli", "report")
SERVICE = ("service",)
ANALYTICS = ("bubbles", "contagion", "energy", "linkage", "liquidity", "scenarios")
DATA = ("data",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules imported by ``name`` (``from pkg import sub`` resolves to the module)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("powderkeg"):
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for layer, names in (
        ("surface", SURFACES),
        ("service", SERVICE),
        ("analytics", ANALYTICS),
        ("data", DATA),
    ):
        if parts[1] in names:
            return layer
    return None


def test_the_graph_sees_lazy_imports() -> None:
    graph = _graph()
    # the CLI imports the service layer inside its command functions
    assert "powderkeg.service.stress" in graph["powderkeg.cli.stress"]
    assert "powderkeg.data.store" in graph["powderkeg.api.app"]


def test_no_import_circles() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


#: Which layers each layer must never import.
FORBIDDEN = {
    "data": {"analytics", "service", "surface"},
    "analytics": {"service", "surface"},
    "service": {"surface"},
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_dependencies_flow_down(layer: str) -> None:
    bad = sorted(
        f"{src} -> {dst}"
        for src, targets in _graph().items()
        if _layer(src) == layer
        for dst in targets
        if _layer(dst) in FORBIDDEN[layer]
    )
    assert bad == [], f"{layer} imports a layer above it:\n" + "\n".join(bad)
