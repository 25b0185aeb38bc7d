"""Frictionless Data Packages: import every resource using its ``schema`` and ``series`` block.

Each resource names a file (``path``), may give its size (``bytes``) and checksum
(``hash``, ``sha256:...`` or a bare MD5), a table ``schema`` (fields and ``missingValues``)
and a powderkeg ``series`` block (``symbol``, ``kind``, ``date_field``, ``value_field``,
``unit``, ``frequency``, ``calendar``). Everything is parsed and verified before anything
is written, and then written in one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from powderkeg.data.records import SeriesData
from powderkeg.data.sources.files import DEFAULT_MISSING, ColumnSpec, read_series_bytes
from powderkeg.exceptions import DataFileError, InputError

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PackageResource:
    """One resource of a data package, resolved to an absolute path."""

    name: str
    path: Path
    descriptor: dict[str, Any]


def load_descriptor(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Read and minimally validate a ``datapackage.json``."""
    p = Path(path)
    if p.is_dir():
        p = p / "datapackage.json"
    if not p.is_file():
        raise InputError(f"{p}: no such data package descriptor")
    try:
        desc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFileError(str(p), exc.lineno, f"invalid JSON: {exc.msg}") from None
    if not isinstance(desc, dict) or not isinstance(desc.get("resources"), list):
        raise DataFileError(str(p), None, "not a data package: no 'resources' list")
    return p, desc


def resources(path: str | Path, names: Sequence[str] | None = None) -> list[PackageResource]:
    """Return the package's resources (optionally only ``names``), in package order."""
    p, desc = load_descriptor(path)
    out = []
    for i, res in enumerate(desc["resources"]):
        name = res.get("name") or f"resource-{i}"
        if not isinstance(res.get("path"), str):
            raise DataFileError(str(p), None, f"resource {name!r} has no 'path'")
        out.append(PackageResource(name, (p.parent / res["path"]).resolve(), res))
    if names:
        known = {r.name for r in out}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(
                f"--resource {', '.join(unknown)} not in {p} (known: {', '.join(sorted(known))})"
            )
        out = [r for r in out if r.name in names]
    return out


def verify(resource: PackageResource, descriptor_path: str) -> str:
    """Check ``bytes`` and ``hash`` of a resource's file; return its SHA-256."""
    return _verified_bytes(resource, descriptor_path)[0]


def _verified_bytes(resource: PackageResource, descriptor_path: str) -> tuple[str, bytes]:
    """Read a resource's file once, check ``bytes`` and ``hash``; return (SHA-256, bytes)."""
    res, path = resource.descriptor, resource.path
    if not path.is_file():
        raise DataFileError(str(path), None, f"file of resource {resource.name!r} is missing")
    data = path.read_bytes()
    if "bytes" in res and int(res["bytes"]) != len(data):
        raise DataFileError(
            str(path),
            None,
            f"size {len(data)} bytes differs from the {res['bytes']} declared for resource "
            f"{resource.name!r} in {descriptor_path}",
        )
    sha = hashlib.sha256(data).hexdigest()
    declared = res.get("hash")
    if declared:
        algo, _, digest = str(declared).rpartition(":")
        algo = (algo or "md5").lower()
        if algo not in hashlib.algorithms_available:
            raise DataFileError(descriptor_path, None, f"unsupported hash algorithm {algo!r}")
        actual = sha if algo == "sha256" else hashlib.new(algo, data).hexdigest()
        if actual.lower() != digest.lower():
            raise DataFileError(
                str(path),
                None,
                f"{algo} checksum {actual} differs from the {digest} declared for resource "
                f"{resource.name!r}",
            )
    return sha, data


def _header(path: Path, data: bytes) -> list[str]:
    """Return the stripped column names on the first line of CSV ``data``."""
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    try:
        text = first.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise DataFileError(str(path), 1, f"header is not UTF-8 text ({exc.reason})") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    row = next(csv.reader([text], delimiter=delimiter), [])
    return [h.strip() for h in row]


def read_resource(resource: PackageResource, descriptor_path: str) -> SeriesData:
    """Verify and parse one resource into a :class:`SeriesData`."""
    res = resource.descriptor
    sha, data = _verified_bytes(resource, descriptor_path)
    schema = res.get("schema") or {}
    series = res.get("series") or {}
    fields = [f.get("name") for f in schema.get("fields", []) if isinstance(f, dict)]
    missing = schema.get("missingValues", list(DEFAULT_MISSING))
    if fields and resource.path.suffix.lower() not in (".parquet", ".pq"):
        header = _header(resource.path, data)
        if header != fields:
            raise DataFileError(
                str(resource.path),
                1,
                f"header {header} does not match the schema fields {fields} "
                f"of resource {resource.name!r}",
            )
    symbol = series.get("symbol") or resource.name.upper()
    spec = ColumnSpec(
        date_col=series.get("date_field"),
        value_col=series.get("value_field"),
        kind=series.get("kind"),
        missing_values=tuple(missing),
    )
    return read_series_bytes(
        resource.path,
        data,
        symbol=symbol,
        spec=spec,
        unit=series.get("unit", ""),
        frequency=series.get("frequency", ""),
        calendar=series.get("calendar", ""),
        description=res.get("description", ""),
        source=f"package:{descriptor_path}#{resource.name}",
        sha256=sha,
    )


def read_package(
    path: str | Path,
    names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[list[SeriesData], str]:
    """Parse and verify every (selected) resource; return the batches and the package SHA-256."""
    p, _ = load_descriptor(path)
    res_list = resources(p, names)
    batches = []
    for i, res in enumerate(res_list):
        batches.append(read_resource(res, str(p.resolve())))
        if progress is not None:
            progress(i + 1, len(res_list), res.name)
    digest = hashlib.sha256(p.read_bytes())
    for b in batches:
        digest.update((b.sha256 or "").encode())
    return batches, digest.hexdigest()
