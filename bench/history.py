"""A year of finished payments, loaded in SQL, for the benchmarks that measure against a long history.

`add_history(count, funder_id, provider_id)` adds `count` payment attempts after the jobs already in the
database, each with its job and quote, spread evenly over the last 365 days (stored in the order they were
made, as a table that grew over a year is): nine in ten paid, the others failed, declined or expired with
a reason, links ready 1 to 20 s after approval, senders at seven wallet hosts, every grant revoked, and
one paid job in fifty refunded (its refund and the refund's attempt). Every statement names every column
the schema requires, so a new column without a database default fails here, loudly.
"""

from __future__ import annotations

import time

from stack import say

# What every attempt of the history sets; a payment adds its incoming amount, a refund its refund.
ATTEMPT_COLUMNS = """id, kind, status, created_at, updated_at, link_ready_at, authorized_at, finished_at,
       grant_revoked_at, job_id, quote_id, sender_wallet, receiver_wallet, sender_auth_server,
       incoming_payment_url, receive_asset_code, receive_asset_scale, incoming_token, incoming_token_manage,
       op_quote_url, debit_amount, debit_asset_code, debit_asset_scale, receive_amount, client_nonce,
       interact_nonce, payment_url, continue_uri, continue_token, interact_ref, access_token,
       access_token_manage, idempotency_id, outgoing_payment_url, sent_amount, received_amount, polls, error,
       error_code, error_detail, receiver_already_paid, reported_result, budget_fallback"""
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
   FROM jobs_job AS j WHERE j.id > %(after)s""",
    f"""INSERT INTO jobs_paymentattempt ({ATTEMPT_COLUMNS}, incoming_amount)
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
          'https://auth.wallet.example', 'https://wallet.example/incoming-payments/' || q.id, q.asset_code, 2,
          '', '', 'https://wallet.example/quotes/' || q.id, q.amount_value + 50,
          q.asset_code, 2, q.amount_value, '', '', 'https://auth.wallet.example/interact/' || q.id,
          'https://auth.wallet.example/continue/' || q.id, '', '', '', '', gen_random_uuid(),
          'https://wallet.example/outgoing-payments/' || q.id, q.amount_value + 50,
          CASE WHEN q.job_id %% 10 < 9 THEN q.amount_value END, 1,
          CASE WHEN q.job_id %% 30 = 9 THEN 'Your wallet stopped the payment.'
               WHEN q.job_id %% 30 = 19 THEN 'You declined the payment in your wallet.'
               WHEN q.job_id %% 10 = 9 THEN 'Nobody used the payment link in time.' ELSE '' END,
          CASE WHEN q.job_id %% 30 = 9 THEN 'http_403' WHEN q.job_id %% 30 = 19 THEN 'grant_rejected'
               WHEN q.job_id %% 10 = 9 THEN 'link_expired' ELSE '' END,
          '', false, '', '', q.amount_value
   FROM jobs_quote AS q WHERE q.job_id > %(after)s""",  # noqa: S608 - the columns are a constant
    """UPDATE jobs_job AS j SET paid_at = a.finished_at, paid_amount = a.received_amount
   FROM jobs_paymentattempt AS a WHERE a.job_id = j.id AND a.status = 'succeeded' AND j.id > %(after)s""",
    """INSERT INTO jobs_refund (
       job_id, payment_id, amount_value, asset_code, asset_scale, reason, requested_by_id,
                            status, decline_reason, created_at, decided_at, refunded_at)
   SELECT a.job_id, a.id, 500, a.receive_asset_code, 2, '', %(funder)s, 'refunded', '',
          a.finished_at + interval '1 day', a.finished_at + interval '1 day', a.finished_at + interval '1 day'
   FROM jobs_paymentattempt AS a
   WHERE a.status = 'succeeded' AND a.job_id %% 50 = 0 AND a.job_id > %(after)s""",
    """UPDATE jobs_job AS j SET refunds_committed = 500, refunded_amount = 500
   FROM jobs_refund AS r WHERE r.job_id = j.id AND j.id > %(after)s""",
    f"""INSERT INTO jobs_paymentattempt ({ATTEMPT_COLUMNS}, refund_id)
   SELECT gen_random_uuid(), 'refund', 'succeeded', r.created_at, r.created_at,
          r.created_at + interval '3 seconds', r.created_at + interval '40 seconds',
          r.created_at + interval '45 seconds', r.created_at, a.job_id, a.quote_id, a.receiver_wallet,
          a.sender_wallet, 'https://auth.wallet.example', '', a.receive_asset_code, 2, '', '', '', 500,
          a.receive_asset_code, 2, 495, '', '', '', '', '', '', '', '', gen_random_uuid(), '', 500, 495, 1,
          '', '', '', false, '', '', r.id
   FROM jobs_refund AS r JOIN jobs_paymentattempt AS a ON a.id = r.payment_id WHERE r.job_id > %(after)s""",  # noqa: S608
]


def add_history(count: int, funder_id: int, provider_id: int) -> None:
    """`count` finished payment attempts more (and the refunds of one paid job in fifty), then the tables
    vacuumed."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM jobs_job")
        after = cursor.fetchone()[0]
        values = {"count": count, "after": after, "funder": funder_id, "provider": provider_id}
        for statement in HISTORY_SQL:
            cursor.execute(statement, values)
        cursor.execute("SELECT count(*) FROM jobs_paymentattempt WHERE job_id > %s", [after])
        added = cursor.fetchone()[0]
        # A table that grew over a year has been vacuumed along the way; a bulk load has not.
        cursor.execute("VACUUM ANALYZE jobs_job, jobs_quote, jobs_refund, jobs_paymentattempt")
    say(f"{count} payment attempts ({added} with refunds) added in {time.monotonic() - started:.1f}s")
