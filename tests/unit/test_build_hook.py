"""hatch_build.py, the build hook that puts the npm-pinned browser files into the packages.

Each test works in a temporary copy of the project's npm files, never in the source tree (other
test runs read the copied assets there). `node_modules` is the one a build made (`pip install
-e .` runs the hook), linked in, so no test reaches the npm registry.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import hatch_build
import pytest
from hatch_build import ASSETS, LOCK, TARGET_DIRS, NpmMissing, build_assets, node_modules_current

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the npm side of the project, its node_modules the built one, and no npm on
    PATH (whatever runs npm here fails)."""
    assert node_modules_current(ROOT), "no build ran `npm ci` here yet: `pip install -e .`"
    for name in ("package.json", LOCK):
        shutil.copyfile(ROOT / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    nowhere = tmp_path / "empty-bin"
    nowhere.mkdir()
    monkeypatch.setenv("PATH", str(nowhere))
    return tmp_path


def test_a_build_copies_exactly_the_listed_files_from_the_locked_packages(project):
    """…and, node_modules matching the lock, needs no npm to do it."""
    stale = project / TARGET_DIRS[0] / "htmx-1.0.min.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("a file an older list copied")
    copied = build_assets(project)
    assert sorted(copied) == sorted(project / asset.target for asset in ASSETS)
    for asset in ASSETS:
        target = project / asset.target
        assert target.read_bytes() == (ROOT / "node_modules" / asset.source).read_bytes()
        assert target.stat().st_size > 0, asset
    present = {p for folder in TARGET_DIRS for p in (project / folder).rglob("*") if p.is_file()}
    assert present == set(copied)


def test_each_copied_package_brings_its_licence():
    packages = {asset.source.split("/")[0] for asset in ASSETS}
    licensed = {asset.source.split("/")[0] for asset in ASSETS if "LICENSE" in asset.source}
    assert packages == licensed == {"htmx.org", "socket.io-client", "swagger-ui-dist"}


def test_the_pages_get_what_they_load(project):
    targets = {asset.target for asset in ASSETS}
    assert {
        "src/mov_web/static/vendor/htmx.min.js",
        "src/mov_web/static/vendor/socket.io.min.js",
        "src/mov_api/static/swagger/swagger-ui-bundle.js",
        "src/mov_api/static/swagger/swagger-ui.css",
    } <= targets


def test_a_missing_npm_fails_the_build_saying_what_is_needed_and_how_to_get_it(project):
    (project / "node_modules").unlink()
    with pytest.raises(NpmMissing) as refused:
        build_assets(project)
    message = str(refused.value)
    assert "npm (Node.js)" in message
    assert "apt-get install npm" in message
    assert not (project / TARGET_DIRS[0]).exists()


def test_a_changed_lock_runs_npm_again(project):
    lock = project / LOCK
    lock.write_text(lock.read_text() + "\n")
    assert not node_modules_current(project)
    with pytest.raises(NpmMissing):
        build_assets(project)


def test_npm_installs_exactly_the_lock_and_runs_no_package_scripts():
    assert hatch_build.NPM_CI[0] == "ci"
    assert "--ignore-scripts" in hatch_build.NPM_CI


def test_the_copied_folders_are_gitignored_and_still_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for folder in TARGET_DIRS:
        assert f"{folder}/" in wheel["artifacts"]
        assert f"{folder}/" in ignored
        assert any(folder.startswith(package + "/") for package in wheel["packages"])
    assert "node_modules/" in ignored
    sdist = config["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert {"hatch_build.py", "package.json", LOCK} <= set(sdist)
    assert config["tool"]["hatch"]["build"]["hooks"]["custom"]["path"] == "hatch_build.py"
