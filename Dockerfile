# Two images. `production` (the default target, the last stage) runs every process of the marketplace
# (web, worker, beat, flower; compose picks the command) and holds only what they run: no wallet, no
# tests, no dev tools. `demo` adds the local Open Payments wallet (testwallet/ and its server
# dependencies) for `docker compose --profile demo up`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# A fixed numeric id, so an orchestrator enforcing non-root users can check it.
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --create-home app
COPY pyproject.toml manage.py ./
COPY marketplace ./marketplace
COPY jobs ./jobs
COPY payments ./payments
COPY worker ./worker
# Editable: the apps' templates and static files are read from the copied source tree (a wheel built
# here would not carry them).
RUN pip install -e . && mkdir -p /app/var && chown app:app /app/var

FROM base AS demo
COPY testwallet ./testwallet
RUN pip install -e '.[testwallet]'
USER 10001:10001
EXPOSE 4000
CMD ["python", "-m", "testwallet", "--host", "0.0.0.0", "--port", "4000", "--public-url", "http://127.0.0.1:4000"]

FROM base AS production
USER 10001:10001
EXPOSE 8000 5555
CMD ["python", "-m", "gunicorn", "-c", "python:marketplace.gunicorn", "marketplace.wsgi", "--bind", "0.0.0.0:8000"]
