"""The package's layer order (docs/DESIGN.md §2, "Layers"): a module imports only from its own
layer or a lower one, and production code never imports the test support in sitool.testing.
Every import counts, module-level or inside a function."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sitool"
DESIGN = ROOT / "docs" / "DESIGN.md"


def design_layers() -> list[list[str]]:
    """The layers as docs/DESIGN.md lists them, lowest first: one numbered line per layer
    naming its modules and packages in backticks (``sitool.X`` or ``sitool.X.Y``)."""
    text = DESIGN.read_text()
    section = text[text.index("### Layers"):]
    section = section[:section.index("\n#", 1)]
    layers = []
    for line in section.splitlines():
        if re.match(r"^\d+\. ", line):
            layers.append(re.findall(r"`(sitool(?:\.[a-z_]+)*)`", line))
    return layers


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The sitool modules ``path`` imports (``from sitool.x import y`` counts as sitool.x.y
    when that is a module, else sitool.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "sitool"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "sitool":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*sub.split("."))).with_suffix(".py").is_file() or \
                    (ROOT / Path(*sub.split("."))).is_dir()
                found.add(sub if is_module else node.module)
    return found


def layer_of(module: str, layers: list[list[str]]) -> int | None:
    """The layer of the longest listed name that is ``module`` or a package above it (the
    top-level ``sitool`` stands only for the package's own ``__init__``)."""
    best, best_len = None, -1
    for i, names in enumerate(layers):
        for name in names:
            above = name != "sitool" and module.startswith(name + ".")
            if (module == name or above) and len(name) > best_len:
                best, best_len = i, len(name)
    return best


def test_design_lists_every_module_in_a_layer():
    layers = design_layers()
    assert len(layers) >= 5
    unplaced = [module_name(p) for p in PACKAGE.rglob("*.py")
                if layer_of(module_name(p), layers) is None]
    assert not unplaced, f"modules in no layer of docs/DESIGN.md: {unplaced}"


def test_imports_go_only_downward():
    layers = design_layers()
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        mine = layer_of(importer, layers)
        for imported in sorted(imports_of(path)):
            theirs = layer_of(imported, layers)
            if theirs is not None and theirs > mine:
                upward.append(f"{importer} (layer {mine + 1}) imports {imported} "
                              f"(layer {theirs + 1})")
    assert not upward, "\n".join(upward)


def test_production_code_never_imports_test_support():
    offenders = [module_name(p) for p in PACKAGE.rglob("*.py")
                 if not module_name(p).startswith("sitool.testing")
                 and any(m.startswith("sitool.testing") for m in imports_of(p))]
    assert not offenders


def test_the_checker_sees_an_upward_import(tmp_path):
    """The checks above can fail: a function-level import of a higher layer is found."""
    layers = design_layers()
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from sitool.cli import main\n    import sitool.decode\n")
    found = imports_of(probe)
    assert {"sitool.cli", "sitool.decode"} <= found
    assert layer_of("sitool.cli", layers) > layer_of("sitool.datadir", layers)
