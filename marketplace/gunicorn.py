"""Gunicorn's settings for the web process (`make demo`, compose, the benchmarks):
`python -m gunicorn -c python:marketplace.gunicorn marketplace.wsgi --bind HOST:PORT`."""

import os

# The web keeps one persistent database connection per thread, never a pool: with the database away, a
# request must fail at once (503 with Retry-After), not wait in the pool for a connection to come back.
os.environ["DATABASE_POOL_SIZE"] = "0"

# Processes, each serving 4 requests at a time (threads), so a slow request never queues the others.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = 4
# Ctrl-C or SIGTERM stops within the demo's grace period, letting requests in flight finish.
graceful_timeout = 5
# No access log: its request line would carry the finish callback's query (hash, interact_ref). Django
# logs requests as method and path only (marketplace.logs).
accesslog = None
