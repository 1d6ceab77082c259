"""Docker-free bundling and per-environment config, without synthesizing anything."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from infra import bundling
from infra.config import DEFAULT_ENV, ENVIRONMENTS, get_config


def test_layer_installs_exactly_the_project_dependencies() -> None:
    pyproject = tomllib.loads((bundling.REPO_ROOT / "pyproject.toml").read_text())
    assert bundling.runtime_dependencies() == pyproject["project"]["dependencies"]


def test_functions_bundle_copies_the_package_without_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "functions"
    (source / "decay" / "__pycache__").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "decay" / "handler.py").write_text("def handler(event, context): ...\n")
    (source / "decay" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"x")
    monkeypatch.setattr(bundling, "FUNCTIONS_SOURCE", source)
    out = tmp_path / "out"
    assert bundling.FunctionsBundling().try_bundle(str(out), None)
    assert (out / "functions" / "decay" / "handler.py").is_file()
    assert not list(out.rglob("__pycache__"))


def test_layer_bundle_puts_memos_and_cached_wheels_under_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "cache"
    (wheels / "python" / "fakedep").mkdir(parents=True)
    monkeypatch.setattr(bundling, "_install_dependencies", lambda requirements, python_version: wheels)
    out = tmp_path / "out"
    assert bundling.LayerBundling().try_bundle(str(out), None)
    assert (out / "python" / "fakedep").is_dir()
    assert (out / "python" / "memos" / "__init__.py").is_file()
    assert not list(out.rglob("*.pyc"))


def test_dependency_install_targets_lambda_platform_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setenv("MEMOS_LAYER_CACHE", str(tmp_path))
    monkeypatch.setattr(bundling.subprocess, "run", lambda cmd, check: calls.append(cmd))
    first = bundling._install_dependencies(["redis==8.1.0"])
    second = bundling._install_dependencies(["redis==8.1.0"])
    assert first == second and len(calls) == 1
    command = " ".join(calls[0])
    assert "--platform manylinux2014_x86_64" in command
    assert "--python-version 3.12" in command and "--only-binary=:all:" in command


def test_layer_hash_changes_with_the_domain_code(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    before = bundling.tree_hash(tmp_path)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert bundling.tree_hash(tmp_path) != before


def test_config_defaults_to_dev_and_rejects_unknown_environments() -> None:
    assert get_config(None).name == DEFAULT_ENV == "dev"
    assert set(ENVIRONMENTS) == {"dev", "staging", "prod"}
    with pytest.raises(ValueError, match="unknown environment"):
        get_config("qa")


def test_only_prod_protects_its_data() -> None:
    assert get_config("prod").deletion_protection
    assert not get_config("dev").deletion_protection
    assert get_config("prod").aurora_min_acu >= get_config("dev").aurora_min_acu
