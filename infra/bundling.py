"""Docker-free asset bundling for the Lambda layer and the shared function code.

CDK runs ``try_bundle`` at synth time (skipped in tests via ``aws:cdk:bundling-stacks``).
The layer's third-party wheels are downloaded for the Lambda platform (manylinux, CPython 3.12)
whatever the build machine is, and cached by the hash of the dependency list, so repeated
synths only copy files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_SOURCE = REPO_ROOT / "layers"
FUNCTIONS_SOURCE = REPO_ROOT / "functions"
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
# The SDK and its adapters are client code: never part of what the layer ships.
_LAYER_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "sdk")


def runtime_dependencies(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The layer installs exactly ``[project].dependencies`` (one source of truth)."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _tree_files(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def tree_hash(root: Path, extra: Iterable[str] = ()) -> str:
    """Content hash of a source tree (paths and bytes) plus extra strings."""
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode())
    if root.exists():
        for path in _tree_files(root):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def layer_asset_hash() -> str:
    return tree_hash(
        LAYER_SOURCE / "memos", [LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, *runtime_dependencies()]
    )


def _cache_root() -> Path:
    configured = os.environ.get("MEMOS_LAYER_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "memos" / "lambda-layer"


def _install_dependencies(
    requirements: list[str], python_version: str = LAMBDA_PYTHON_VERSION, platform: str = LAMBDA_PLATFORM
) -> Path:
    """pip-install the wheels for Lambda into a cache directory keyed by the requirement list.

    ``python_version`` other than Lambda's only serves the bundle tests, which import the bundle
    with the local interpreter (see tests/bundle)."""
    key = hashlib.sha256("\n".join([platform, python_version, *requirements]).encode())
    target = _cache_root() / key.hexdigest()[:16]
    done_marker = target / ".complete"
    if done_marker.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target / "python"),
        "--platform", platform, "--implementation", "cp",
        "--python-version", python_version, "--only-binary=:all:",
        *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    for cache_dir in (target / "python").rglob("__pycache__"):
        shutil.rmtree(cache_dir, ignore_errors=True)
    done_marker.touch()
    return target


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Layer layout: ``python/memos`` (the domain package) + its runtime dependencies."""

    def __init__(self, python_version: str = LAMBDA_PYTHON_VERSION) -> None:
        self.python_version = python_version

    def try_bundle(self, output_dir: str, options: BundlingOptions | None) -> bool:
        out = Path(output_dir) / "python"
        deps = _install_dependencies(runtime_dependencies(), self.python_version)
        shutil.copytree(deps / "python", out, dirs_exist_ok=True)
        shutil.copytree(LAYER_SOURCE / "memos", out / "memos", ignore=_LAYER_IGNORED, dirs_exist_ok=True)
        return True


@jsii.implements(ILocalBundling)
class FunctionsBundling:
    """One code asset for every function: the ``functions/`` package at the asset root."""

    def try_bundle(self, output_dir: str, options: BundlingOptions | None) -> bool:
        target = Path(output_dir) / "functions"
        if FUNCTIONS_SOURCE.exists():
            shutil.copytree(FUNCTIONS_SOURCE, target, ignore=_IGNORED, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True)
        return True


def local_bundling_options(local: LayerBundling | FunctionsBundling) -> BundlingOptions:
    """Bundling options that never fall back to Docker: the image is a placeholder CDK requires.

    jsii calls ``try_bundle(output_dir, options)`` positionally, while the generated protocol
    spells the options out as keywords, hence the cast.
    """
    return BundlingOptions(
        image=DockerImage.from_registry("unused-local-bundling-only"), local=cast(ILocalBundling, local)
    )
