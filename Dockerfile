# One image for every process of the stack (web, worker, beat, flower); compose picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml ./
COPY marketplace ./marketplace
COPY jobs ./jobs
COPY payments ./payments
COPY worker ./worker
COPY testwallet ./testwallet
COPY manage.py ./
RUN pip install --no-cache-dir -e . && useradd --create-home app && mkdir -p /app/var && chown app /app/var
USER app
EXPOSE 8000 5555
CMD ["python", "-m", "gunicorn", "-c", "python:marketplace.gunicorn", "marketplace.wsgi", "--bind", "0.0.0.0:8000"]
