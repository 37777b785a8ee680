# syntax=docker/dockerfile:1
# rotation-bot image: a build stage installs the bot into a virtual environment, the runtime
# stage copies only that venv and runs it as an unprivileged user with its state on /data.
#
#   docker build -t rotation-bot .
#   docker run --env-file .env -v rotation-data:/data -p 8787:8787 rotation-bot
#
# tests/test_deployment.py replays this file without a Docker engine, so keep to its contract:
# - the build stage is the first FROM; its COPY lines copy paths of the build context into its
#   WORKDIR, and its RUN lines are plain shell (`--mount=...` flags are dropped) that use
#   `python` and the venv at /opt/venv;
# - the runtime stage's ENV lines are `KEY=value` pairs (values may mention /opt/venv and /data);
# - HEALTHCHECK and CMD use the exec (JSON) form.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# bot/config/defaults/rotation.yaml links to config/rotation.yaml: both are needed for `pip install .`
COPY pyproject.toml README.md ./
COPY config ./config
COPY signals ./signals
COPY bot ./bot
RUN python -m venv /opt/venv
# non-editable: the package data (demo market, universe, default config) goes into the venv
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 rotation \
    && useradd --system --uid 10001 --gid rotation --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin rotation \
    && mkdir -p /data \
    && chown rotation:rotation /data
COPY --from=build /opt/venv /opt/venv
# State lives on /data (SQLite database, Parquet price cache, matplotlib's and yfinance's
# caches under HOME); DATABASE_URL and the ROTATION_BOT_* variables override the config file.
# The health endpoint listens on all interfaces so Docker, Compose and Prometheus reach it.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data \
    DATABASE_URL=sqlite:////data/rotation-bot.db \
    ROTATION_BOT_CACHE_DIR=/data/cache \
    ROTATION_BOT_HEALTH_HOST=0.0.0.0 \
    ROTATION_BOT_HEALTH_PORT=8787
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8787
# /healthz is 200 once an evaluation ran on fresh data; the first start may download prices
HEALTHCHECK --interval=60s --timeout=10s --start-period=10m --retries=3 \
    CMD ["rotation-bot", "healthcheck"]
CMD ["rotation-bot", "run"]
