"""Every number that differs between two ``hoptac eval --json`` reports, and the largest change of a share.

python scripts/compare_eval.py before.json after.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def numbers(report: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number of a nested report, by its dotted path."""
    found: dict[str, float] = {}
    for key, value in report.items():
        if isinstance(value, dict):
            found.update(numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[prefix + key] = float(value)
    return found


def main(before_path: str, after_path: str) -> int:
    before = numbers(json.loads(Path(before_path).read_text("utf-8")))
    after = numbers(json.loads(Path(after_path).read_text("utf-8")))
    worst = 0.0
    for key, old in before.items():
        new = after.get(key)
        if new is None or new == old or key == "seconds":
            continue
        if abs(old) <= 1 and abs(new) <= 1:  # a share, not a count
            worst = max(worst, abs(new - old))
        print(f"{key:66s} {old:10.4f} -> {new:10.4f}  {new - old:+.4f}")
    print(f"largest change of a share: {worst:.4f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/compare_eval.py BEFORE.json AFTER.json")
    sys.exit(main(sys.argv[1], sys.argv[2]))
