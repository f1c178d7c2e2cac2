"""Check that a vendored copy of the Mint API client is exactly what was vendored.

This file is copied as ``_vendor_check.py`` into every vendored copy (``nox -s vendor``), and runs
there with nothing but Python:

    python -m acme_mint_client._vendor_check     # or: python path/to/acme_mint_client/_vendor_check.py

It compares every file of the package folder with the sha256 recorded in ``VENDORED.json`` beside it
and exits 1, naming each file that was edited, added or removed (0 when all match, 2 when the stamp
is missing or unreadable). ``__pycache__`` folders are ignored. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

STAMP = "VENDORED.json"


class StampError(Exception):
    """The folder has no readable ``VENDORED.json`` with a ``files`` table."""


def read_stamp(folder: Path) -> dict[str, object]:
    """The parsed ``VENDORED.json`` of ``folder``; :class:`StampError` if there is none."""
    path = folder / STAMP
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StampError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise StampError(f"{path} is unreadable: {exc}") from None
    if not isinstance(stamp, dict):
        raise StampError(f"{path} is not a JSON object")
    return stamp


def file_hashes(folder: Path) -> dict[str, str]:
    """``relative/posix/path -> sha256`` of every file in ``folder`` but the stamp and caches."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or "__pycache__" in rel.parts or rel.as_posix() == STAMP:
            continue
        out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def differences(folder: Path) -> list[str]:
    """``edited: x``, ``added: y``, ``removed: z`` lines; empty when the folder matches its stamp."""
    files = read_stamp(folder).get("files")
    if not isinstance(files, dict):
        raise StampError(f"{folder / STAMP} lists no file hashes (written by an older vendor step)")
    have = file_hashes(folder)
    problems = [
        f"edited: {name}"
        for name in sorted(files.keys() & have.keys())
        if files[name] != have[name]
    ]
    problems += [f"added: {name}" for name in sorted(have.keys() - files.keys())]
    problems += [f"removed: {name}" for name in sorted(files.keys() - have.keys())]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the folder this file lives in (or the one given); print the result."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parent
    try:
        problems = differences(folder)
        stamp = read_stamp(folder)
    except StampError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        print(f"{folder.name} differs from its {STAMP} stamp:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(
            f"Refresh it as {STAMP} says ({stamp.get('refresh', 'nox -s vendor')}).",
            file=sys.stderr,
        )
        return 1
    files = stamp.get("files")
    count = len(files) if isinstance(files, dict) else 0
    print(
        f"{folder.name} matches its {STAMP} stamp: {count} files, "
        f"mint-sdk {stamp.get('sdk_version')}, spec sha256 {stamp.get('spec_sha256')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
