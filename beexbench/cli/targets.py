"""`beexbench targets [--json]`: every registered target, available or not, and why."""

from __future__ import annotations

import argparse
import json
from typing import Any

# a compact view of machine state for the table; --json carries all of it
TABLE_STATE_KEYS = (
    "cpu_model", "gpu_name", "board", "threads", "governor", "boost", "smt_active",
    "sm_clock_mhz", "temperature_c", "power_limit_w", "throttle_reasons", "max_temp_c",
    "throttled", "power",
)


def _short(value: Any) -> str:
    if isinstance(value, dict) and "total_watts" in value:
        rails = ", ".join(f"{r['name']} {r['watts']:.2f} W" for r in value["rails"])
        return f"{value['total_watts']:.2f} W total ({value['sensor']}: {rails})"
    if isinstance(value, dict) and "raw" in value and "now" in value:
        now = [k for k, v in value["now"].items() if v]
        past = [k for k, v in value["occurred"].items() if v]
        return (f"{value['raw']} now: {', '.join(now) or 'none'}; "
                f"occurred: {', '.join(past) or 'none'}")
    if isinstance(value, dict) and "kind" in value:
        return f"{value['kind']} ({value.get('model') or 'no model string'})"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        status = "available" if row["available"] else "not available"
        lines.append(f"{row['name']}: {status} ({row['reason']})")
        if not row["available"]:
            lines.append("")
            continue
        estimated = " (estimated)" if row["energy_estimated"] else " (measured)"
        details = [
            ("device", row["device"]),
            ("timing", row["timing_source"]),
            ("energy", f"{row['energy_source']}{estimated}"),
            ("coverage", row["coverage"]),
        ]
        state = row["machine_state"]
        for key in TABLE_STATE_KEYS:
            if key in state:
                value = state[key]
                details.append((key, _short(value) if value is not None
                                else f"unknown: {state.get(key + '_reason')}"))
        width = max(len(k) for k, _ in details)
        lines += [f"  {k:<{width}}  {v}" for k, v in details]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    from beexbench.targets.registry import describe_all

    rows = describe_all()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_table(rows), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("targets", help="list hardware targets, their availability and state")
    p.add_argument("--json", action="store_true", help="print a stable JSON list")
    p.set_defaults(func=run)
