"""The dependency locks. `requirements.txt` is what production installs: every package,
transitive ones too, pinned exactly, and no test tool. `requirements-test.txt` is what
`scripts/test` installs: the same pins plus the test tools, pinned as fully. Both are
made by `scripts/lock` (pip-compile) from `requirements.in` / `requirements-test.in`.

Checked against the installed packages' own metadata: each pinned package's requirements
(for this Python, with the extras the `.in` asks for) are pinned too, at a version they
accept, and what is installed here is what the lock says."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = {"pytest", "wechatpayv3"}  # at least these never reach production


def requirements(path: Path) -> list[Requirement]:
    """The requirement lines of a requirements file (comments, options and -r/-c aside)."""
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for req in requirements(path):
        [spec] = list(req.specifier) if len(req.specifier) == 1 else [None]
        assert spec is not None and spec.operator == "==", f"{path.name}: {req} is not pinned exactly"
        found[canonicalize_name(req.name)] = spec.version
    return found


def extras_asked(path: Path) -> dict[str, set[str]]:
    return {canonicalize_name(r.name): set(r.extras) for r in requirements(path) if r.extras}


def _needed(dist, name: str, extras: dict[str, set[str]]):
    """`dist`'s requirements that apply here: for this Python, with the extras asked of it."""
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": extra})
                                     for extra in {"", *extras.get(name, ())}):
            yield req


def unpinned_dependencies(locked: dict[str, str], extras: dict[str, set[str]]) -> list[str]:
    problems, dists, extras = [], {}, {name: set(asked) for name, asked in extras.items()}
    for name, version in sorted(locked.items()):
        try:
            dists[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}=={version} is not installed")
            continue
        if dists[name].version != version:
            problems.append(f"{name}: {dists[name].version} installed, {version} locked")
    grew = True
    while grew:  # extras asked by one package of another (apiflask: pydantic[email])
        grew = False
        for name, dist in dists.items():
            for req in _needed(dist, name, extras):
                dep = canonicalize_name(req.name)
                if not set(req.extras) <= extras.setdefault(dep, set()):
                    extras[dep] |= set(req.extras)
                    grew = True
    for name, dist in dists.items():
        for req in _needed(dist, name, extras):
            dep = canonicalize_name(req.name)
            if dep not in locked:
                problems.append(f"{name} needs {req}, which is not pinned")
            elif not req.specifier.contains(locked[dep], prereleases=True):
                problems.append(f"{name} needs {req}, but {dep}=={locked[dep]} is pinned")
    return problems


def test_runtime_lock_has_no_test_tools():
    tools = TEST_TOOLS | {canonicalize_name(r.name) for r in requirements(ROOT / "requirements-test.in")}
    assert tools & set(pins(ROOT / "requirements.txt")) == set()


def test_runtime_lock_pins_every_dependency():
    runtime = pins(ROOT / "requirements.txt")
    assert unpinned_dependencies(runtime, extras_asked(ROOT / "requirements.in")) == []


def test_test_lock_is_the_runtime_lock_plus_the_test_tools():
    runtime, test = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-test.txt")
    assert {name: test.get(name) for name in runtime} == runtime  # the same versions as production
    assert TEST_TOOLS <= set(test)
    extras = {**extras_asked(ROOT / "requirements.in"), **extras_asked(ROOT / "requirements-test.in")}
    assert unpinned_dependencies(test, extras) == []


@pytest.mark.parametrize("source, lock", [("requirements.in", "requirements.txt"),
                                          ("requirements-test.in", "requirements-test.txt")])
def test_every_direct_requirement_is_in_its_lock(source, lock):
    direct = {canonicalize_name(r.name) for r in requirements(ROOT / source)}
    assert direct - set(pins(ROOT / lock)) == set(), f"run scripts/lock after editing {source}"
