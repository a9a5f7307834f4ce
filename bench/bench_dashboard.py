"""Benchmark: the staff dashboard over a year of history.

A PostgreSQL database of its own is filled with BENCH_DASHBOARD_ATTEMPTS (100,000) payment attempts
over the last 365 days (`history.py`: nine in ten paid, the others failed, declined or expired, one paid
job in fifty refunded). Then the dashboard page itself (`GET /dashboard`, the default 30 days and asset,
the real view and templates through Django's test client, DEBUG off) is fetched BENCH_DASHBOARD_REQUESTS
(200) times after 5 warm-up requests. Prints
``{"bench": "dashboard", "attempts": 100000, "p50_ms": …, "p99_ms": …}``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import add_history
from stack import PG, PG_URL, env_int, percentile, say

from marketplace.processes import database


def main() -> None:
    count = env_int("BENCH_DASHBOARD_ATTEMPTS", 100_000)
    requests = env_int("BENCH_DASHBOARD_REQUESTS", 200)
    with ExitStack() as exits:
        db_url = exits.enter_context(database(PG_URL, prefix="bench", client_args=PG))
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "marketplace.settings",
                # As deployed: DEBUG off (with it on, Django keeps a copy of every query it runs).
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "testserver",
                "SECURE_COOKIES": "0",
                "DATABASE_URL": db_url,
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.contrib.auth.models import Permission, User
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        funder = User.objects.create_user("fiona")
        provider = User.objects.create_user("pavel")
        staff = User.objects.create_user("olga", is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
        add_history(count, funder.pk, provider.pk)

        client = Client()
        client.force_login(staff)
        timings = []
        for n in range(5 + requests):
            started = time.perf_counter()
            response = client.get("/dashboard")
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"GET /dashboard answered {response.status_code}")
            if n >= 5:
                timings.append(elapsed)
        say(f"{requests} dashboard pages, slowest {max(timings):.1f} ms")
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "attempts": count,
                "p50_ms": round(percentile(timings, 0.5), 1),
                "p99_ms": round(percentile(timings, 0.99), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
