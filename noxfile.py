"""Every routine task of the project. A bare ``nox`` runs every check.

nox                              # lint, typecheck, check_generated, tests
nox -s generate                  # regenerate generated/mint_client from spec/
nox -s vendor -- DEST [--package NAME]
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "check_generated", "tests"]
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
GENERATE_PINS = "spec/requirements-generate.txt"
HANDWRITTEN = ["mint_ext", "tests", "tools", "bench", "noxfile.py"]


@nox.session(default=False)
def generate(session: nox.Session) -> None:
    """Regenerate generated/mint_client from spec/ with the pinned toolchain."""
    session.install("-r", GENERATE_PINS)
    session.run("python", "tools/mintgen.py", "generate")


@nox.session
def check_generated(session: nox.Session) -> None:
    """Fail, naming the files, if generated/ differs from a fresh generation."""
    session.install("-r", GENERATE_PINS)
    session.run("python", "tools/mintgen.py", "check")


@nox.session(default=False)
def vendor(session: nox.Session) -> None:
    """Copy generated/mint_client into another repo: nox -s vendor -- DEST [--package NAME]."""
    if not session.posargs:
        session.error("usage: nox -s vendor -- DEST [--package NAME]")
    session.run("python", "tools/mintgen.py", "vendor", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff on everything handwritten, and validation of the OpenAPI document."""
    session.install("-r", GENERATE_PINS, "openapi-spec-validator>=0.7")
    session.run("ruff", "check", *HANDWRITTEN)
    session.run("ruff", "format", "--check", *HANDWRITTEN)
    session.run("openapi-spec-validator", "spec/mint.openapi.yaml")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on mint_ext and on the generated package."""
    session.install("mypy>=1.11", ".[test]")
    session.run("mypy", "--strict", "-p", "mint_ext")
    session.run("mypy", "--strict", "generated/mint_client")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite (unit and end-to-end on loopback)."""
    session.install(".[test]", "-r", GENERATE_PINS)
    if not session.posargs:  # the docstring examples of mint_ext, then the suite
        session.run("pytest", "--doctest-modules", "mint_ext", "-q", "-p", "no:cacheprovider")
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with references; writes BENCHMARKS.md (-- --quick: smaller)."""
    session.install(".[test]")
    session.run("python", "-m", "bench.run", *session.posargs)
