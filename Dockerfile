# The registry as an unprivileged user, served by `registry serve` (gunicorn with the registry's worker
# class, REGISTRY_WORKER_TIMEOUT, logging and shared metrics). The instance folder (SQLite database,
# generated keys) lives on the /data volume; set REGISTRY_DATABASE_URL for PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REGISTRY_INSTANCE_PATH=/data \
    REGISTRY_HOST=0.0.0.0 \
    REGISTRY_PORT=8000

RUN groupadd --system registry && useradd --system --gid registry --home-dir /app registry
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# The exact versions tested (make lock), hash-checked, then the registry itself.
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY registry ./registry
COPY schemas ./schemas
COPY seed_data ./seed_data
RUN pip install --no-cache-dir --no-deps -e . \
    && python -c "from registry.web.i18n import compile_catalogs; compile_catalogs()" \
    && mkdir -p /data && chown registry:registry /data

USER registry
VOLUME ["/data"]
EXPOSE 8000
# Migrate, then serve. `registry seed` loads the demonstration directory; run it once by hand.
CMD ["sh", "-c", "registry db upgrade && exec registry serve"]
