"""`regress --format json|junit`: the findings for machines (CI annotations, test reports).

Both say what the text table says, for every finding (ok ones too): `fails` is whether
the finding fails the gate as run (with --gate-noisy, flagged noisy figures fail too).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from typing import Any

from beexbench.measure import catalog as M
from beexbench.regress.compare import Finding, failing

FORMATS = ("text", "json", "junit")


def _number(value: float | None) -> float | None:
    # JSON has no NaN: a figure without a number is null, as a missing one.
    return None if value is None or not math.isfinite(value) else value


def findings_json(findings: list[Finding], gate_noisy: bool = False) -> str:
    """`{"ok": bool, "findings": [{key, kind, status, baseline, current, note, fails}]}`."""
    fails = {id(f) for f in failing(findings, gate_noisy)}
    items: list[dict[str, Any]] = [
        {"key": f.key, "kind": f.kind, "status": f.status, "baseline": _number(f.baseline),
         "current": _number(f.current), "note": f.note, "fails": id(f) in fails}
        for f in findings]
    return json.dumps({"ok": not fails, "findings": items}, indent=2, allow_nan=False)


def _text(value: float | None) -> str:
    return "none" if value is None else f"{value:.10g}"


def findings_junit(findings: list[Finding], gate_noisy: bool = False) -> str:
    """JUnit XML: one testcase per finding in a testsuite "beexbench regress"; a failure
    for each one that fails the gate, skipped for flagged noisy ones that do not."""
    fails = {id(f) for f in failing(findings, gate_noisy)}
    skipped = {id(f) for f in findings
               if f.kind == M.NOISY and f.status == "flagged" and id(f) not in fails}
    suite = ET.Element("testsuite", {
        "name": "beexbench regress", "tests": str(len(findings)),
        "failures": str(len(fails)), "errors": "0", "skipped": str(len(skipped))})
    for f in findings:
        case = ET.SubElement(suite, "testcase", {"classname": f"beexbench.regress.{f.kind}",
                                                 "name": f.key})
        detail = f"baseline {_text(f.baseline)}, run {_text(f.current)}"
        message = f"{f.status}: {f.note}" if f.note else f.status
        if id(f) in fails:
            failure = ET.SubElement(case, "failure", {"type": f.status, "message": message})
            failure.text = detail
        elif id(f) in skipped:
            ET.SubElement(case, "skipped", {"message": f"{message} (informational; "
                                                       "--gate-noisy makes it fail)"})
        elif f.status != "ok":
            # A change that passes (new, recalibrated, drifted, improved noise): visible
            # in the report, never a failure.
            ET.SubElement(case, "system-out").text = f"{message}; {detail}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode")
