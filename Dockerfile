# syntax=docker/dockerfile:1
#
# Parley server image: the Python package plus the built browser client, run as a non-root
# user. Build: `docker build -t parley .`   Run (embedded defaults, SQLite in /data):
#   docker run -p 8080:8080 -v parley-data:/data parley
# docker-compose.yml runs it behind a TLS proxy with PostgreSQL; see docs/operations.md.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:22-slim

# --- client: bundle the browser application into client/dist ----------------------------
# The bundle is plain JS/CSS, the same for every target platform, so it is built natively.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS client
WORKDIR /src/client
COPY client/package.json client/package-lock.json ./
COPY client/stubs ./stubs
# --ignore-scripts: no install scripts run (client/package.json sets "allowScripts" for
# esbuild to false); esbuild's JS API finds its platform binary without its install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY client/ ./
RUN npm run build

# --- build: install the Python package into a virtualenv ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
COPY server/ server/
COPY signaling/ signaling/
COPY storage/ storage/
RUN pip install .

# --- runtime -----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PARLEY_DATA_DIR=/data \
    PARLEY_CLIENT_DIR=/app/client/dist
# A fixed uid/gid, so that volume ownership is predictable; /data only for that user.
RUN groupadd --system --gid 10001 parley \
 && useradd --system --uid 10001 --gid parley --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin parley \
 && install -d -o parley -g parley -m 0700 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=client /src/client/dist /app/client/dist
WORKDIR /app
USER parley:parley
EXPOSE 8080
# Liveness only (the process answers HTTP); docker-compose.yml checks /readyz instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PARLEY_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["parley"]
CMD ["serve", "--host", "0.0.0.0"]
