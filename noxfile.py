"""`nox` runs tests, lint, typecheck and imports; `nox -s bench -- NAME` runs a benchmark."""

import nox

nox.options.sessions = ["tests", "chaos", "lint", "typecheck", "imports"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite: unit, property and integration (the chaos tests: `chaos`)."""
    session.install("-e", ".[test]")
    session.run("pytest", "--ignore=tests/chaos", *session.posargs)


@nox.session(python=PYTHON)
def chaos(session: nox.Session) -> None:
    """Faults on the cluster topology (deploy/cluster.py): replicas killed, PostgreSQL restarted."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/chaos", "-rP", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff")
    paths = ["src", "tests", "bench", "deploy", "noxfile.py", "hatch_build.py", "docs"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the core (configured in pyproject.toml)."""
    session.install("-e", ".", "mypy")
    session.run("mypy")


@nox.session(python=PYTHON)
def imports(session: nox.Session) -> None:
    """Import-linter: the core imports no infrastructure; edges use the composition root."""
    session.install("-e", ".", "import-linter")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run one benchmark script from bench/ (`nox -s bench -- enroll`)."""
    session.install("-e", ".[test]")  # bench scripts start servers with tests/servers.py
    if not session.posargs:
        session.error("name a benchmark: nox -s bench -- <name>")
    name, *rest = session.posargs
    session.run("python", f"bench/{name}.py", *rest)


@nox.session(python=PYTHON)
def screenshots(session: nox.Session) -> None:
    """The README's pictures of the web UI (docs/*.png), from a demo server in Chromium."""
    session.install("-e", ".[test]")
    session.run("python", "docs/screenshots.py", *session.posargs)


@nox.session(python=PYTHON)
def cluster(session: nox.Session) -> None:
    """The seed's topology on this machine behind nginx, until Ctrl-C
    (`nox -s cluster -- --replicas 2 --split`)."""
    session.install("-e", ".[test]", "supervisor")
    session.run("python", "deploy/cluster.py", *session.posargs)
