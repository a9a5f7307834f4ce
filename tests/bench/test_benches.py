"""Every benchmark of `make bench` runs to its JSON line at a small size, so a change of the schema or of
the stack that breaks one shows in `make test`, not only when someone next measures."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests import services

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

BENCH = services.ROOT / "bench"
SMALL = {
    "BENCH_JOBS": "24",
    "BENCH_WORKERS": "1",
    "BENCH_THREADS": "4",
    "BENCH_APPROVE_CLIENTS": "2",
    "BENCH_LATENCY_MS": "20",
    "BENCH_LATENCY_SECONDS": "1",
    "BENCH_LATENCY_CALIBRATION": "24",
    "BENCH_PAID": "8",
    "BENCH_SDK_LINKS": "8",
    "BENCH_SDK_CONCURRENCY": "4",
    "BENCH_GROWTH_SIZES": "200,400",
    "BENCH_DASHBOARD_ATTEMPTS": "300",
    "BENCH_DASHBOARD_REQUESTS": "3",
}
# What each benchmark prints, key by key (the values are measurements, but for the sizes it was given).
FIGURES = {
    "approve": {"bench": "approve", "p50_ms": float, "p99_ms": float},
    "dashboard": {"bench": "dashboard", "attempts": 300, "p50_ms": float, "p99_ms": float},
    "growth": {
        "bench": "growth",
        "attempts": [0, 200, 400],
        "links_per_s": list,
        "links_per_s_change_pct": list,
        "reconcile_ms": list,
    },
    "latency": {"bench": "latency", "rate_per_s": float, "p50_ms": float, "p99_ms": float},
    "paid_latency": {
        "bench": "paid_latency",
        "latency_ms": 20,
        "paid_per_s": float,
        "p50_ms": float,
        "p99_ms": float,
    },
    "pipeline": {
        "bench": "pipeline",
        "jobs": 24,
        "workers": 1,
        "links_per_s": float,
        "http_calls_per_link": 3.0,
        "cpu_ms_per_link": float,
    },
    "pipeline_latency": {
        "bench": "pipeline_latency",
        "latency_ms": 20,
        "links_per_s": float,
        "cpu_ms_per_link": float,
        "p50_ms": float,
        "p99_ms": float,
    },
    "sdk_baseline": {"bench": "sdk_baseline", "links_per_s": float, "p50_ms": float},
    "sdk_baseline_latency": {
        "bench": "sdk_baseline_latency",
        "latency_ms": 20,
        "concurrency": 4,
        "links_per_s": float,
        "p50_ms": float,
    },
    "sign": {"bench": "sign", "us_per_request": float, "verify_us_per_request": float},
    "testwallet": {"bench": "testwallet", "requests_per_s": float},
}


def test_every_benchmark_script_has_its_figures_listed() -> None:
    # given the scripts `make bench` runs / then each is checked below, and nothing more
    assert sorted(path.stem.removeprefix("bench_") for path in BENCH.glob("bench_*.py")) == sorted(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_benchmark_prints_its_one_json_line(name: str) -> None:
    # given the services every benchmark stands on
    services.require_redis()
    services.require_local_postgres()
    if name.startswith("sdk_"):
        services.require_node()

    # when it runs at a small size, as `make bench BENCH=<name>` does
    done = subprocess.run(
        [services.PYTHON, "bench/run.py", name],
        cwd=services.ROOT,
        env=services.process_env(**SMALL, DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )

    # then it succeeds with one JSON line, holding exactly its figures
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    figures = json.loads(lines[0])
    expected = FIGURES[name]
    assert list(figures) == list(expected)
    for key, want in expected.items():
        if isinstance(want, type):
            assert isinstance(figures[key], want if want is not float else (int, float)), (key, figures)
        else:
            assert figures[key] == want, (key, figures)
