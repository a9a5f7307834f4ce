# Two images. `production` (the default target) runs every process of the marketplace (web, worker,
# beat, flower; compose picks the command) and holds no wallet. `demo` adds the local Open Payments
# wallet (testwallet/ and its server dependencies) for `docker compose up`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml ./
COPY marketplace ./marketplace
COPY jobs ./jobs
COPY payments ./payments
COPY worker ./worker
COPY manage.py ./
RUN pip install --no-cache-dir -e . && useradd --create-home app && mkdir -p /app/var && chown app /app/var

FROM base AS demo
COPY testwallet ./testwallet
RUN pip install --no-cache-dir -e '.[testwallet]'
USER app
EXPOSE 4000
CMD ["python", "-m", "testwallet", "--host", "0.0.0.0", "--port", "4000", "--public-url", "http://127.0.0.1:4000"]

FROM base AS production
USER app
EXPOSE 8000 5555
CMD ["python", "-m", "gunicorn", "-c", "python:marketplace.gunicorn", "marketplace.wsgi", "--bind", "0.0.0.0:8000"]
