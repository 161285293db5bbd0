"""The nox install plan per platform, resolved for platforms this machine is not."""

from __future__ import annotations

import re

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.version import Version

from beexbench.install_plan import (
    DEFAULT_CONSTRAINTS,
    cpu_torch_for,
    facts_for,
    marker_environment,
    resolve,
    torch_pins,
)

ROOT = REPO
CONSTRAINTS = ROOT / DEFAULT_CONSTRAINTS


def test_aarch64_linux_selects_no_torch_wheel():
    """On aarch64 the pin's marker is false and the plan installs no torch at all."""
    text = CONSTRAINTS.read_text()
    env = marker_environment("aarch64", "Linux")
    pins = torch_pins(text)
    assert pins and all(p.marker is not None and not p.marker.evaluate(env) for p in pins)
    facts = facts_for("aarch64", "Linux", CONSTRAINTS)
    assert facts.cpu_torch is None
    plan = resolve(facts, env={})
    assert plan.reuse_torch and plan.constraints is None
    args = plan.pip_args(".[test]")
    # nothing names torch, so pip keeps the interpreter's build instead of fetching one
    assert args == ["-e", ".[test]"] and not any("torch" in a for a in args)
    assert "aarch64" in plan.summary() and "interpreter" in plan.summary()


def test_x86_64_linux_pins_the_cpu_build_only():
    facts = facts_for("x86_64", "Linux", CONSTRAINTS)
    pin = Requirement(facts.cpu_torch)
    # a local "+cpu" label: pip cannot satisfy it with the CUDA build of the same version
    (spec,) = pin.specifier
    assert spec.operator == "==" and Version(spec.version).local == "cpu"
    assert not pin.specifier.contains("2.13.0")
    plan = resolve(facts, env={})
    assert not plan.reuse_torch
    assert plan.pip_args(".") == ["-c", DEFAULT_CONSTRAINTS, "-e", "."]
    assert DEFAULT_CONSTRAINTS in plan.summary()


@pytest.mark.parametrize(("machine", "system"), [("arm64", "Darwin"), ("armv7l", "Linux"),
                                                 ("x86_64", "Darwin")])
def test_platforms_without_the_cpu_pin_reuse_the_interpreter(machine, system):
    assert resolve(facts_for(machine, system, CONSTRAINTS), env={}).reuse_torch


def test_overrides_keep_working():
    x86 = facts_for("x86_64", "Linux", CONSTRAINTS)
    arm = facts_for("aarch64", "Linux", CONSTRAINTS)
    reuse = resolve(x86, {"BEEXBENCH_REUSE_TORCH": "1"})
    assert reuse.reuse_torch and "BEEXBENCH_REUSE_TORCH=1" in reuse.summary()
    mine = resolve(arm, {"BEEXBENCH_CONSTRAINTS": "pins-jetson.txt"})
    assert not mine.reuse_torch and mine.pip_args(".")[:2] == ["-c", "pins-jetson.txt"]
    assert resolve(x86, {"BEEXBENCH_REUSE_TORCH": "0"}).constraints == DEFAULT_CONSTRAINTS
    board = resolve(x86, {}, always_reuse="bench_arm always uses the board's own build")
    assert board.reuse_torch and "bench_arm" in board.summary()


def test_marker_free_pin_applies_everywhere_and_options_are_skipped():
    text = "--extra-index-url https://example.invalid/simple\n# note\nnumpy<3\ntorch==2.4.0\n"
    assert cpu_torch_for("aarch64", "Linux", text) == "torch==2.4.0"
    assert cpu_torch_for("aarch64", "Linux", "numpy<3\n") is None


def test_readme_arm_section_matches_the_noxfile():
    """The ARM section's commands are sessions the noxfile has, on the plan it takes."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## On an ARM board", 1)[1].split("\n## ", 1)[0]
    sessions = set(re.findall(r"^nox -s (\w+)", section, flags=re.MULTILINE))
    assert sessions == {"bench_arm", "tests"}
    noxfile = (ROOT / "noxfile.py").read_text()
    for name in sessions:
        assert re.search(rf"^def {name}\(session", noxfile, flags=re.MULTILINE), name
    # the section says the sessions reuse the board's torch: so does the plan on aarch64
    assert "reuse" in section
    assert resolve(facts_for("aarch64", "Linux", CONSTRAINTS), env={}).reuse_torch
