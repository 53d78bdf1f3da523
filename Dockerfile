# The registry behind gunicorn, as an unprivileged user. The instance folder (SQLite database,
# generated keys) lives on the /data volume; set REGISTRY_DATABASE_URL for PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REGISTRY_INSTANCE_PATH=/data \
    REGISTRY_HOST=0.0.0.0 \
    REGISTRY_PORT=8000

RUN groupadd --system registry && useradd --system --gid registry --home-dir /app registry
WORKDIR /app
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY schemas ./schemas
COPY seed_data ./seed_data
RUN pip install --no-cache-dir -e . \
    && python -c "from registry.web.i18n import compile_catalogs; compile_catalogs()" \
    && mkdir -p /data && chown registry:registry /data

USER registry
VOLUME ["/data"]
EXPOSE 8000
# Migrate, then serve. `registry seed` loads the demonstration directory; run it once by hand.
CMD ["sh", "-c", "registry db upgrade && exec gunicorn --no-control-socket --bind ${REGISTRY_HOST}:${REGISTRY_PORT} --workers ${REGISTRY_WORKERS:-2} --access-logfile - 'registry:create_app()'"]
