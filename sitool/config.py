"""YAML configs validated against dataclass schemas.

A stage's hyper-parameters are a (nested) dataclass; the YAML file and ``key=value``
command-line overrides fill it. A config may start from another one: ``base: PATH`` (relative
to the file) reads PATH first and then applies this file's keys on top, section by section
(lists and values are replaced, mappings merged), so a recipe's config states only what it
changes. An unknown key is an error that names the nearest valid
key, so a typo never silently falls back to a default::

    error: conf/train_joint.yaml: unknown key 'model.se_wieght' (did you mean 'model.se_weight'?)

A numeric key may declare its domain, ``x: float = in_domain(">0", default=1e-3)`` (field
metadata ``{"domain": ">0"}``), checked when the config is read (numbers: ``>0``, ``>=0``,
``>=1``, ``finite``, or an interval ``[0, 1)``; list items each; NaN and infinities are never
in a domain), so a value out of it is one line naming the key, its value and the domain::

    error: conf/train_joint.yaml: optim.lr_heads = -1.0 is out of its domain (> 0); set a value > 0
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml

from sitool.errors import SitoolError
from sitool.io import read_yaml

C = TypeVar("C")


_COMPARISON = re.compile(r"^\s*(>=|>|<=|<)\s*(-?[\d.]+(?:e-?\d+)?)\s*$")
_INTERVAL = re.compile(r"^\s*([\[(])\s*(-?[\d.]+(?:e-?\d+)?)\s*,\s*(-?[\d.]+(?:e-?\d+)?)\s*([\])])\s*$")


def _domain_test(domain: str):
    """A predicate for ``domain`` (see the module doc); an unknown form is a programming error."""
    if domain.strip() == "finite":
        return lambda v: True
    m = _COMPARISON.match(domain)
    if m:
        op, bound = m.group(1), float(m.group(2))
        return {">": lambda v: v > bound, ">=": lambda v: v >= bound,
                "<": lambda v: v < bound, "<=": lambda v: v <= bound}[op]
    m = _INTERVAL.match(domain)
    if m:
        lo_open, lo, hi, hi_open = m.group(1) == "(", float(m.group(2)), float(m.group(3)), \
            m.group(4) == ")"
        return lambda v: (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    raise ValueError(f"unknown config domain {domain!r}")


def in_domain(domain: str, default: Any = dataclasses.MISSING,
              default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose value (or each item of a list value) must lie in ``domain``
    (``">0"``, ``">=0"``, ``">=1"``, ``"finite"``, ``"[0, 1)"``, ...), checked by
    :func:`from_dict`."""
    _domain_test(domain)                      # a typo in a schema fails at import
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"domain": domain})


def describe_domain(domain: str) -> str:
    """``">=0"`` -> ``">= 0"``; ``"[0, 1)"`` -> ``"in [0, 1)"``; ``"finite"`` as it is."""
    m = _COMPARISON.match(domain)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    return domain.strip() if domain.strip() == "finite" else "in " + domain.strip()


def check_domain(value: Any, domain: str | None, where: str) -> None:
    """One line naming the key, its value and its domain when ``value`` (or an item of a list
    value) lies outside it; NaN and infinities are outside every domain."""
    if domain is None or value is None:
        return
    test = _domain_test(domain)
    listed = isinstance(value, (list, tuple))
    for item in (value if listed else [value]):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            continue                          # the type check has already spoken
        if not math.isfinite(item) or not test(item):
            what = f"{where} = {list(value)!r}: item {item!r}" if listed else f"{where} = {item!r}"
            wanted = describe_domain(domain)
            fix = "finite value" if wanted == "finite" else \
                f"{'' if math.isfinite(item) else 'finite '}value {wanted}"
            raise SitoolError(f"{what} is out of its domain ({wanted}); set a {fix}")


def _nearest(key: str, valid: Sequence[str]) -> str:
    match = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else f" (valid keys: {', '.join(valid)})"


def _all_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        name = prefix + f.name
        keys.append(name)
        if dataclasses.is_dataclass(hints[f.name]):
            keys.extend(_all_keys(hints[f.name], name + "."))
    return keys


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a type hint; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except SitoolError as e:
                errors.append(str(e))
        raise SitoolError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise SitoolError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise SitoolError(f"{where}: expected a list, got {value!r}")
        item_hint = args[0] if args else Any
        return [_coerce(v, item_hint, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SitoolError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is float:
        if isinstance(value, str):  # PyYAML reads 1e-3 (no dot) as a string (YAML 1.1)
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SitoolError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SitoolError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise SitoolError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise SitoolError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def _optional_section(hint: Any) -> type | None:
    """The dataclass ``X`` of a hint ``X | None``, else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        sections = [a for a in args if dataclasses.is_dataclass(a)]
        if len(sections) == 1 and len(args) == 2:
            return sections[0]
    return None


def from_dict(cls: type[C], data: dict, source: str = "config", prefix: str = "") -> C:
    """Build dataclass ``cls`` from a nested mapping, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise SitoolError(f"{source}: '{prefix.rstrip('.') or 'top level'}' must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            full = prefix + str(key)
            valid = [prefix + k for k in fields]
            raise SitoolError(f"{source}: unknown key {full!r}{_nearest(full, valid)}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        where = f"{source}: {prefix}{name}"
        optional = _optional_section(hint)
        if dataclasses.is_dataclass(hint):
            kwargs[name] = from_dict(hint, value or {}, source, prefix + name + ".")
        elif optional is not None:      # an empty value leaves the optional section unset
            kwargs[name] = from_dict(optional, value, source, prefix + name + ".") if value else None
        else:
            kwargs[name] = _coerce(value, hint, where)
            check_domain(kwargs[name], fields[name].metadata.get("domain"), where)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise SitoolError(f"{source}: {prefix or ''}{e}") from None


def to_dict(config: Any) -> dict:
    """The config as plain nested dicts (for writing ``config.yaml``)."""
    return dataclasses.asdict(config)


def apply_overrides(data: dict, overrides: Sequence[str], cls: type, source: str) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested dict, validating keys."""
    valid = _all_keys(cls)
    for item in overrides:
        if "=" not in item:
            raise SitoolError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in valid:
            raise SitoolError(f"override {item!r}: unknown key {key!r}{_nearest(key, valid)}")
        value = yaml.safe_load(raw) if raw.strip() else None
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SitoolError(f"override {item!r}: {part!r} is not a section in {source}")
        node[parts[-1]] = value
    return data


def merge_config(base: dict, update: dict) -> dict:
    """``update`` applied on top of ``base``: nested mappings merged, everything else replaced."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_config_yaml(path: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> dict:
    """Read a config file as a dict, resolving its ``base:`` chain."""
    path = Path(path)
    if path.resolve() in _seen:
        raise SitoolError(f"{path}: 'base' chain loops back to itself")
    data = read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = path.parent / str(base)
    if not base_path.is_file():
        raise SitoolError(f"{path}: base config {base_path} not found")
    return merge_config(read_config_yaml(base_path, _seen + (path.resolve(),)), data)


def load_config(cls: type[C], path: str | os.PathLike, overrides: Sequence[str] = ()) -> C:
    """Read a YAML config (and its ``base:`` chain) into dataclass ``cls``, applying
    ``key=value`` overrides."""
    data = read_config_yaml(path)
    data = apply_overrides(data, overrides, cls, str(path))
    return from_dict(cls, data, str(Path(path)))
