"""Hatchling build hook: third-party browser files from the npm registry into the packages.

The versions and integrity hashes live in `package-lock.json`; `npm ci` installs exactly those
into `node_modules/`, and only the files the pages load (plus each package's licence) are copied
into gitignored folders inside `mov_web` and `mov_api`. The wheel declares those folders as
artifacts, so it carries them although git does not. Editable installs get the same copies, in
the source tree the editable install points at.

The logic is plain functions so the tests can run it without hatchling installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final, NamedTuple


class Asset(NamedTuple):
    """One file copied from `node_modules/<source>` to `<target>` (both relative paths).

    (Not a dataclass: hatchling runs this file without registering it in `sys.modules`, which
    dataclasses need.)"""

    source: str
    target: str


WEB_VENDOR: Final = "src/mov_web/static/vendor"
SWAGGER: Final = "src/mov_api/static/swagger"
ASSETS: Final = (
    Asset("htmx.org/dist/htmx.min.js", f"{WEB_VENDOR}/htmx.min.js"),
    Asset("htmx.org/LICENSE", f"{WEB_VENDOR}/htmx.org-LICENSE.txt"),
    Asset("socket.io-client/dist/socket.io.min.js", f"{WEB_VENDOR}/socket.io.min.js"),
    Asset("socket.io-client/LICENSE", f"{WEB_VENDOR}/socket.io-client-LICENSE.txt"),
    Asset("swagger-ui-dist/swagger-ui-bundle.js", f"{SWAGGER}/swagger-ui-bundle.js"),
    Asset("swagger-ui-dist/swagger-ui.css", f"{SWAGGER}/swagger-ui.css"),
    Asset("swagger-ui-dist/favicon-32x32.png", f"{SWAGGER}/favicon-32x32.png"),
    Asset("swagger-ui-dist/LICENSE", f"{SWAGGER}/LICENSE"),
    Asset("swagger-ui-dist/NOTICE", f"{SWAGGER}/NOTICE"),
    # the licences of what webpack bundled into swagger-ui-bundle.js
    Asset(
        "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt",
        f"{SWAGGER}/swagger-ui-bundle.js.LICENSE.txt",
    ),
)
TARGET_DIRS: Final = (WEB_VENDOR, SWAGGER)
LOCK: Final = "package-lock.json"
# Written after a successful `npm ci`: the lock's sha256, so an unchanged lock skips npm.
STAMP: Final = "node_modules/.mov-lock.sha256"
NPM_CI: Final = ("ci", "--ignore-scripts", "--no-audit", "--no-fund")
NPM_MISSING: Final = (
    "Building MOV needs npm (Node.js): the wheel carries browser files (htmx, socket.io-client, "
    "swagger-ui) installed from the npm registry as pinned in package-lock.json, and `npm` was "
    "not found on PATH. Install Node.js with npm (Debian/Ubuntu: `apt-get install npm`; "
    "elsewhere: https://nodejs.org/en/download) and build again."
)


class NpmMissing(RuntimeError):
    """The build needs `npm` and it is not on PATH."""

    def __init__(self) -> None:
        super().__init__(NPM_MISSING)


def build_assets(root: Path) -> list[Path]:
    """Install the locked npm packages if needed, then copy exactly `ASSETS` into place.

    Returns the copied files. The target folders hold nothing else afterwards (a file dropped
    from the list does not linger in the next wheel).

    Raises:
        NpmMissing: npm is needed (node_modules does not match the lock) and not on PATH.
        RuntimeError: `npm ci` failed.
    """
    if not node_modules_current(root):
        run_npm_ci(root)
    for folder in TARGET_DIRS:
        shutil.rmtree(root / folder, ignore_errors=True)
    copied = []
    for asset in ASSETS:
        target = root / asset.target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "node_modules" / asset.source, target)
        copied.append(target)
    return copied


def node_modules_current(root: Path) -> bool:
    """`npm ci` ran for this very lock, and every file we copy is still there."""
    stamp = root / STAMP
    if not stamp.is_file() or stamp.read_text().strip() != lock_digest(root):
        return False
    return all((root / "node_modules" / asset.source).is_file() for asset in ASSETS)


def lock_digest(root: Path) -> str:
    return hashlib.sha256((root / LOCK).read_bytes()).hexdigest()


def run_npm_ci(root: Path, path: str | None = None) -> None:
    """`npm ci` in `root` (exactly the lock's versions, checked against its integrity hashes;
    no install scripts run). `path` overrides PATH when looking npm up.

    Raises:
        NpmMissing: npm is not on PATH.
        RuntimeError: npm failed.
    """
    npm = shutil.which("npm", path=path if path is not None else os.environ.get("PATH"))
    if npm is None:
        raise NpmMissing
    done = subprocess.run([npm, *NPM_CI], cwd=root, check=False)  # noqa: S603 (fixed arguments)
    if done.returncode != 0:
        raise RuntimeError(
            f"`npm {' '.join(NPM_CI)}` failed in {root} (exit {done.returncode}); "
            "its output is above. Is the npm registry reachable?"
        )
    (root / STAMP).write_text(lock_digest(root) + "\n")


def get_build_hook() -> type[Any]:
    """What hatchling asks this script for. Importing hatchling here, not at the top, keeps the
    functions above importable where hatchling is not installed (the test environment)."""
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface  # noqa: PLC0415

    class BrowserAssets(BuildHookInterface[Any]):
        """Runs for wheels, standard and editable; an sdist ships the lock, not the files."""

        def initialize(self, version: str, build_data: dict[str, Any]) -> None:  # noqa: ARG002
            if self.target_name == "wheel":
                build_assets(Path(self.root))

    return BrowserAssets
