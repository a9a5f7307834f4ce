"""`make bench [BENCH=name]`: runs every bench/bench_<name>.py (or the one named), one JSON line each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    """Runs the benchmarks in name order; the exit code is that of the first one to fail."""
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    unknown = wanted - {script.stem.removeprefix("bench_") for script in scripts}
    if unknown:
        print(f"no such benchmark: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for script in scripts:
        if wanted and script.stem.removeprefix("bench_") not in wanted:
            continue
        code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
