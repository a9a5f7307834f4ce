"""Benchmark: the staff dashboard over a year of history.

A PostgreSQL database of its own is filled (in SQL) with BENCH_DASHBOARD_ATTEMPTS (100,000) payment
attempts spread evenly over the last 365 days (stored in the order they were made, as a table that
grew over a year is), each with its job and quote: nine in ten paid, the others
failed, declined or expired with a reason, links ready 1 to 20 s after approval, senders at seven wallet
hosts, and one paid job in fifty refunded. Then the dashboard page itself (`GET /dashboard`, the default
30 days and asset, the real view and templates through Django's test client, DEBUG off) is fetched
BENCH_DASHBOARD_REQUESTS (200) times after 5 warm-up requests. Prints
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

from stack import PG, PG_URL, env_int, percentile, say

from marketplace.processes import database

HISTORY_SQL = [
    """INSERT INTO jobs_job (title, description, status, created_at, paid_at, funder_id, refunds_committed,
                         refunded_amount, paid_amount)
   SELECT 'History job ' || g, '', CASE WHEN g %% 10 < 9 THEN 'paid' ELSE 'open' END,
          now() - interval '365 days' * (%(count)s - g) / %(count)s,
          NULL, %(funder)s, 0, 0, NULL
   FROM generate_series(1, %(count)s) AS g""",
    """INSERT INTO jobs_quote (amount_value, asset_code, asset_scale, note, created_at, job_id, provider_id)
   SELECT 1000 + j.id %% 5000, CASE WHEN j.id %% 25 = 0 THEN 'EUR' ELSE 'USD' END, 2, '', j.created_at, j.id,
          %(provider)s
   FROM jobs_job AS j""",
    """INSERT INTO jobs_paymentattempt (
       id, kind, status, created_at, updated_at, link_ready_at, authorized_at, finished_at, grant_revoked_at,
       job_id, quote_id, sender_wallet, receiver_wallet, sender_auth_server, incoming_payment_url,
       incoming_amount, receive_asset_code, receive_asset_scale, incoming_token, incoming_token_manage,
       op_quote_url, debit_amount, debit_asset_code, debit_asset_scale, receive_amount, client_nonce,
       interact_nonce, payment_url, continue_uri, continue_token, interact_ref, access_token,
       access_token_manage, idempotency_id, outgoing_payment_url, sent_amount, received_amount, polls, error,
       error_code, error_detail, receiver_already_paid, reported_result, budget_fallback)
   SELECT gen_random_uuid(), 'payment',
          CASE WHEN q.job_id %% 10 < 9 THEN 'succeeded' WHEN q.job_id %% 30 = 9 THEN 'failed'
               WHEN q.job_id %% 30 = 19 THEN 'declined' ELSE 'expired' END,
          q.created_at, q.created_at,
          q.created_at + (1000 + (q.job_id * 7919) %% 19000) * interval '1 millisecond',
          CASE WHEN q.job_id %% 10 < 9 OR q.job_id %% 30 = 9
               THEN q.created_at + (30 + q.job_id %% 90) * interval '1 second' END,
          q.created_at + (40 + q.job_id %% 90 + (q.job_id %% 13)) * interval '1 second',
          q.created_at, q.job_id, q.id,
          'https://wallet' || (q.job_id %% 7) || '.example/fiona', 'https://wallet.example/pavel',
          'https://auth.wallet.example', 'https://wallet.example/incoming-payments/' || q.id, q.amount_value,
          q.asset_code, 2, '', '', 'https://wallet.example/quotes/' || q.id, q.amount_value + 50,
          q.asset_code, 2, q.amount_value, '', '', 'https://auth.wallet.example/interact/' || q.id,
          'https://auth.wallet.example/continue/' || q.id, '', '', '', '', gen_random_uuid(),
          'https://wallet.example/outgoing-payments/' || q.id, q.amount_value + 50,
          CASE WHEN q.job_id %% 10 < 9 THEN q.amount_value END, 1,
          CASE WHEN q.job_id %% 30 = 9 THEN 'Your wallet stopped the payment.'
               WHEN q.job_id %% 30 = 19 THEN 'You declined the payment in your wallet.'
               WHEN q.job_id %% 10 = 9 THEN 'Nobody used the payment link in time.' ELSE '' END,
          CASE WHEN q.job_id %% 30 = 9 THEN 'http_403' WHEN q.job_id %% 30 = 19 THEN 'grant_rejected'
               WHEN q.job_id %% 10 = 9 THEN 'link_expired' ELSE '' END,
          '', false, '', ''
   FROM jobs_quote AS q""",
    """UPDATE jobs_job AS j SET paid_at = a.finished_at, paid_amount = a.received_amount
   FROM jobs_paymentattempt AS a WHERE a.job_id = j.id AND a.status = 'succeeded'""",
    """INSERT INTO jobs_refund (
       job_id, payment_id, amount_value, asset_code, asset_scale, reason, requested_by_id,
                            status, decline_reason, created_at, decided_at, refunded_at)
   SELECT a.job_id, a.id, 500, a.receive_asset_code, 2, '', %(funder)s, 'refunded', '',
          a.finished_at + interval '1 day', a.finished_at + interval '1 day', a.finished_at + interval '1 day'
   FROM jobs_paymentattempt AS a WHERE a.status = 'succeeded' AND a.job_id %% 50 = 0""",
    """UPDATE jobs_job AS j SET refunds_committed = 500, refunded_amount = 500
   FROM jobs_refund AS r WHERE r.job_id = j.id""",
    """INSERT INTO jobs_paymentattempt (
       id, kind, refund_id, status, created_at, updated_at, link_ready_at, authorized_at, finished_at,
       grant_revoked_at, job_id, quote_id, sender_wallet, receiver_wallet, sender_auth_server,
       incoming_payment_url, receive_asset_code, receive_asset_scale, incoming_token, incoming_token_manage,
       op_quote_url, debit_amount, debit_asset_code, debit_asset_scale, receive_amount, client_nonce,
       interact_nonce, payment_url, continue_uri, continue_token, interact_ref, access_token,
       access_token_manage, idempotency_id, outgoing_payment_url, sent_amount, received_amount, polls, error,
       error_code, error_detail, receiver_already_paid, reported_result, budget_fallback)
   SELECT gen_random_uuid(), 'refund', r.id, 'succeeded', r.created_at, r.created_at,
          r.created_at + interval '3 seconds', r.created_at + interval '40 seconds',
          r.created_at + interval '45 seconds', r.created_at, a.job_id, a.quote_id, a.receiver_wallet,
          a.sender_wallet, 'https://auth.wallet.example', '', a.receive_asset_code, 2, '', '', '', 500,
          a.receive_asset_code, 2, 495, '', '', '', '', '', '', '', '', gen_random_uuid(), '', 500, 495, 1,
          '', '', '', false, '', ''
   FROM jobs_refund AS r JOIN jobs_paymentattempt AS a ON a.id = r.payment_id""",
]


def load(count: int, funder_id: int, provider_id: int) -> None:
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for statement in HISTORY_SQL:
            cursor.execute(statement, {"count": count, "funder": funder_id, "provider": provider_id})
        cursor.execute("SELECT count(*) FROM jobs_paymentattempt")
        total = cursor.fetchone()[0]
        # A table that grew over a year has been vacuumed along the way; a bulk load has not.
        cursor.execute("VACUUM ANALYZE jobs_job, jobs_quote, jobs_refund, jobs_paymentattempt")
    say(f"{count} payment attempts ({total} with refunds) loaded in {time.monotonic() - started:.1f}s")


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
        load(count, funder.pk, provider.pk)

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
