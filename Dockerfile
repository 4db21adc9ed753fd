# syntax=docker/dockerfile:1
# Gathering web service image. Build with `docker compose build` (see deploy/README.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# An unprivileged account with a fixed uid, so file secrets and volumes can be granted to it.
RUN groupadd --system --gid 10001 gathering \
    && useradd --system --uid 10001 --gid gathering --home-dir /home/gathering \
        --create-home --shell /usr/sbin/nologin gathering

WORKDIR /app

# The locked dependencies first (checked by hash, the exact versions the tests ran with; a layer
# that changes only when the lock does), then an editable install of the copied tree, which finds
# the top-level templates/ and static/ folders. The tree stays owned by root, so the service
# cannot modify it.
COPY requirements/main.txt /app/requirements/main.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/main.txt
COPY . /app
RUN pip install --no-cache-dir --no-deps -e . \
    && pybabel compile --directory gathering/locale --domain messages

# The scan page's QR decoder (jsQR) from the npm registry, pinned by package-lock.json, copied to
# static/vendor as `make` does. Node is only mounted from its official image for this one step,
# so neither Node nor node_modules ends up in the image.
RUN --mount=type=bind,from=node:20-bookworm-slim,source=/usr/local,target=/opt/node \
    PATH="/opt/node/bin:$PATH" npm ci --no-audit --no-fund --ignore-scripts \
    && mkdir -p static/vendor \
    && cp node_modules/jsqr/dist/jsQR.js static/vendor/jsQR.js \
    && rm -rf node_modules /root/.npm

USER 10001:10001

EXPOSE 8000

# Healthy only while /healthz answers 200 (it answers 503 when the database is unreachable);
# urlopen raises on any other status or on a refused connection, so python exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# `serve` migrates the database at start-up under a PostgreSQL advisory lock, so several
# replicas starting together are safe.
CMD ["gathering", "serve", "--host", "0.0.0.0", "--port", "8000"]
