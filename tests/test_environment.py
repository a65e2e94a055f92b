"""environment.yml (conda) must name the same packages at the same versions as requirements.lock."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("sync_environment", ROOT / "tools" / "sync_environment.py")
sync = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync)


def test_every_direct_dependency_is_pinned_in_the_lock():
    lock = sync.lock_versions()
    missing = [d for d in sync.direct_dependencies() if d not in lock]
    assert missing == []


def test_environment_yml_matches_the_lock_package_for_package():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pinned = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and "==" in dep:
            name, version = dep.split("==")
            pinned[sync.canonical(name)] = version
    lock = sync.lock_versions()
    expected = {d: lock[d] for d in sync.direct_dependencies()}
    assert pinned == expected


def test_environment_yml_python_matches_the_supported_version():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert sys.version_info >= (3, 11)


def test_lock_pins_exact_versions_only():
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line.strip()), line
