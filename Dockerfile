# syntax=docker/dockerfile:1
# gatepulse: ONE image for every service of the production stack (docker-compose.yml picks the
# command): migrate, bot, dagster-webserver, dagster-daemon, dashboard.
#
#   docker build -t gatepulse:latest .
#
# uv installs exactly what uv.lock pins (no dev tools). The image runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the locked virtual environment -----------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
# Then the project itself (editable into /app, where alembic.ini and migrations/ live).
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev \
 && /opt/venv/bin/python -m compileall -q core bot pipelines dashboards cli migrations

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" gatepulse \
 && useradd --system --uid "${APP_UID}" --gid gatepulse --home-dir /var/lib/gatepulse \
        --shell /usr/sbin/nologin gatepulse \
 && mkdir -p /var/lib/gatepulse/spool /var/lib/dagster/artifacts /var/lib/dagster/compute_logs \
        /opt/dagster/home \
 && chown -R gatepulse:gatepulse /var/lib/gatepulse /var/lib/dagster /opt/dagster/home

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# The Postgres-backed Dagster instance and its code location (read-only for the app user).
COPY deploy/dagster/dagster.yaml deploy/dagster/workspace.yaml /opt/dagster/home/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATEPULSE_VAR_DIR=/var/lib/gatepulse \
    LOG_WRITER_SPOOL_DIR=/var/lib/gatepulse/spool \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_ARTIFACTS_DIR=/var/lib/dagster/artifacts \
    DAGSTER_COMPUTE_LOGS_DIR=/var/lib/dagster/compute_logs \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

WORKDIR /app
USER ${APP_UID}:${APP_UID}
# bot webhook, dashboard, dagster webserver
EXPOSE 8080 8501 3000
# Dispatches on $GATEPULSE_SERVICE (set per service by docker-compose.yml); see the script.
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["gatepulse", "--help"]
