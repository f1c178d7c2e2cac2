"""Every routine task of the project. A bare ``nox`` runs every check.

nox                              # lint, typecheck, check_generated, tests, docs, build
nox -s docs                      # the reference site, strict, into site/ (-- serve: live preview)
nox -s build                     # sdist + wheel into dist/, checked, smoke-tested from a clean venv
nox -s generate                  # regenerate generated/mint_client from spec/, print the API diff
nox -s api_diff -- OLD NEW       # what changed in the API between two spec files
nox -s vendor -- DEST [--package NAME] [--force]
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "check_generated", "tests", "docs", "build"]
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
GENERATE_PINS = "spec/requirements-generate.txt"
SPEC_TOOLS = ["pyyaml>=6", "jsonschema>=4.21", "referencing>=0.35"]  # tools/apidiff.py, speclint.py
HANDWRITTEN = ["mint_ext", "tests", "tools", "bench", "docs", "examples", "noxfile.py"]


@nox.session(default=False)
def generate(session: nox.Session) -> None:
    """Regenerate generated/mint_client from spec/ with the pinned toolchain; print the API diff."""
    session.install("-r", GENERATE_PINS, *SPEC_TOOLS)
    session.run("python", "tools/mintgen.py", "generate")


@nox.session(default=False)
def api_diff(session: nox.Session) -> None:
    """What changed in the API between two spec files: nox -s api_diff -- OLD NEW."""
    if len([a for a in session.posargs if not a.startswith("-")]) != 2:
        session.error("usage: nox -s api_diff -- OLD.yaml NEW.yaml [--fail-on-breaking]")
    session.install(*SPEC_TOOLS)
    session.run("python", "tools/apidiff.py", *session.posargs)


@nox.session
def check_generated(session: nox.Session) -> None:
    """Fail, naming the files, if generated/ (or its spec snapshot) differs from a fresh generation."""
    session.install("-r", GENERATE_PINS)
    session.run("python", "tools/mintgen.py", "check")


@nox.session(default=False)
def vendor(session: nox.Session) -> None:
    """Copy generated/mint_client into another repo: nox -s vendor -- DEST [--package NAME]."""
    if not session.posargs:
        session.error("usage: nox -s vendor -- DEST [--package NAME] [--force]")
    session.install(*SPEC_TOOLS)  # for the API diff between the old and the new copy
    session.run("python", "tools/mintgen.py", "vendor", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff on everything handwritten; the OpenAPI document validated, then the stricter spec lint."""
    session.install("-r", GENERATE_PINS, "openapi-spec-validator>=0.7", *SPEC_TOOLS)
    session.run("ruff", "check", *HANDWRITTEN)
    session.run("ruff", "format", "--check", *HANDWRITTEN)
    session.run("openapi-spec-validator", "spec/mint.openapi.yaml")
    session.run("python", "tools/speclint.py", "spec/mint.openapi.yaml")


def readme_python_examples() -> list[str]:
    """The README's ```python blocks (the same ones tests/test_readme.py runs)."""
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on mint_ext, the generated package, the typing checks of tests/typecheck and
    the README's Python examples (each written to a file of its own in a temporary folder)."""
    session.install("mypy>=1.11", "types-PyYAML", "types-jsonschema", ".[test]")
    session.run("mypy", "--strict", "-p", "mint_ext")
    session.run("mypy", "--strict", "generated/mint_client")
    session.run("mypy", "--strict", "tests/typecheck")
    examples = readme_python_examples()
    if not examples:
        session.error("README.md has no ```python examples to check")
    with tempfile.TemporaryDirectory() as tmp:
        for i, code in enumerate(examples, 1):
            (Path(tmp) / f"readme_example_{i}.py").write_text(code)
        session.run("mypy", "--strict", tmp)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole pytest suite (unit and end-to-end on loopback)."""
    session.install(".[test]", "-r", GENERATE_PINS)
    if not session.posargs:  # the docstring examples of mint_ext, then the suite
        session.run("pytest", "--doctest-modules", "mint_ext", "-q", "-p", "no:cacheprovider")
    # In parallel (pytest-xdist, one worker per core); `nox -s tests -- -n 0 ...` runs serially.
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The reference site (mkdocs-material + mkdocstrings), strict: any warning fails the build."""
    session.install(".[docs]")
    # mkdocs-material prints a banner about its successor on every build; the build itself is
    # what CI checks, so keep its output to what is wrong with the site.
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs == ["serve"]:
        session.run("mkdocs", "serve", "--strict", env=env)
        return
    session.run("mkdocs", "build", "--strict", "--clean", *session.posargs, env=env)
    session.run("python", "-c", DOCS_COVERAGE, "site")


@nox.session
def build(session: nox.Session) -> None:
    """Build sdist and wheel into dist/, check them, install the wheel in a clean venv, smoke it."""
    session.install("build>=1.2", "twine>=5")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in dist/, got {wheels + sdists}")
    session.run("twine", "check", "--strict", str(wheels[0]), str(sdists[0]))
    problems = _check_dist(wheels[0], sdists[0])
    if problems:
        session.error("the distributions are incomplete:\n  " + "\n  ".join(problems))
    with tempfile.TemporaryDirectory(prefix="mint-smoke-") as tmp:
        # A clean venv (no nox, no source tree on sys.path), used from a folder outside the repo.
        venv = Path(tmp) / "venv"
        session.run("python", "-m", "venv", str(venv))
        bin_dir = venv / ("Scripts" if (venv / "Scripts").exists() else "bin")
        py, mint = str(bin_dir / "python"), str(bin_dir / "mint")
        session.run(py, "-m", "pip", "install", "-q", f"{wheels[0]}[cli]", external=True)
        session.chdir(tmp)
        session.run(py, "-I", "-c", SMOKE, str(venv), external=True)
        session.run(mint, "--help", external=True, silent=True)
        session.run(mint, "demo", "--speed", "50", "--out", "demo-out", external=True, silent=True)
        if not any(Path(tmp, "demo-out").rglob("*.spz")):
            session.error("mint demo downloaded no .spz file")
        session.chdir(ROOT)


def _check_dist(wheel: Path, sdist: Path) -> list[str]:
    """What the wheel and sdist lack (files a user or a packager needs), as messages."""
    version = _version()
    problems = [f"{p.name} is not version {version}" for p in (wheel, sdist)
                if f"-{version}-" not in p.name and not p.name.endswith(f"-{version}.tar.gz")]  # fmt: skip
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        info = f"mint_sdk-{version}.dist-info"
        entry_points = (
            whl.read(f"{info}/entry_points.txt").decode()
            if f"{info}/entry_points.txt" in names
            else ""
        )
    needed = ["mint_ext/__init__.py", "mint_ext/py.typed", "mint_ext/testing/__init__.py",
              "mint_client/__init__.py", "mint_client/py.typed", f"{info}/licenses/LICENSE"]  # fmt: skip
    problems += [f"{wheel.name} lacks {n}" for n in needed if n not in names]
    problems += [f"{wheel.name} ships {n}" for n in names if n.startswith(("tests/", "generated/"))]
    if "mint = mint_ext.cli:main" not in entry_points:
        problems.append(f"{wheel.name} has no `mint` console script")
    with tarfile.open(sdist) as tar:
        root = f"mint_sdk-{version}/"
        members = {m.name.removeprefix(root) for m in tar.getmembers()}
    needed = ["LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "spec/mint.openapi.yaml",
              "generated/mint_client/__init__.py", "mint_ext/__init__.py"]  # fmt: skip
    problems += [f"{sdist.name} lacks {n}" for n in needed if n not in members]
    return problems


def _version() -> str:
    """mint_ext.__version__, read without importing the package."""
    text = (ROOT / "mint_ext" / "_version.py").read_text()
    return text.split('"')[1]


DOCS_COVERAGE = """
import re, sys
from pathlib import Path
import mint_ext, mint_ext.status, mint_ext.testing
anchors = set()
for page in Path(sys.argv[1], "reference").rglob("*.html"):
    anchors |= set(re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8")))
public = [f"mint_ext.{n}" for n in mint_ext.__all__ if n not in {"__version__", "status"}]
public += [f"mint_ext.status.{n}" for n in mint_ext.status.__all__]
public += [f"mint_ext.testing.{n}" for n in mint_ext.testing.__all__]
missing = [name for name in public if name not in anchors]
if missing:
    sys.exit("public names missing from docs/reference/*.md: " + ", ".join(missing))
print(f"the reference documents all {len(public)} public names")
"""


SMOKE = """
import sys
from pathlib import Path
import mint_client, mint_ext, mint_ext.testing
from importlib.metadata import version
venv = Path(sys.argv[1]).resolve()
for module in (mint_client, mint_ext):
    assert venv in Path(module.__file__).resolve().parents, f"{module.__name__} from {module.__file__}"
assert version("mint-sdk") == mint_ext.__version__, (version("mint-sdk"), mint_ext.__version__)
print("installed mint-sdk", mint_ext.__version__, "from", venv)
"""


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side with references; writes BENCHMARKS.md (-- --quick: smaller)."""
    session.install(".[test]")
    session.run("python", "-m", "bench.run", *session.posargs)
