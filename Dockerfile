# syntax=docker/dockerfile:1
# `weights agent` in a container: the HTTP scoring service an app in any language runs beside itself.
#
#   docker build -t weights-agent .
#   docker run --read-only --tmpfs /tmp -v weights-cache:/var/cache/weights \
#     -v "$PWD/config/root.json:/etc/weights/root.json:ro" \
#     -e WEIGHTS_URL=https://weights.example.com/ -p 8080:8080 weights-agent
#
# Slim: only the runtime and the [agent] extra (no numpy, pyarrow, GitPython). Non-root. Read-only root
# filesystem friendly: the only writes go to WEIGHTS_CACHE_DIR (a volume or tmpfs; the last good bundle there
# lets a restarted agent serve before the repository answers) and crash logs under it; Python writes no .pyc.
# The trusted root.json is mounted (or COPY'd into a derived image), never fetched. Settings are WEIGHTS_*
# variables (see docs/app-engineer/agent.md) or flags after the image name.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# .dockerignore lets only these into the build context: no keys, no caches, no published repository.
COPY pyproject.toml README.md ./
COPY validator ./validator
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEIGHTS_HOST=0.0.0.0 \
    WEIGHTS_PORT=8080 \
    WEIGHTS_ROOT=/etc/weights/root.json \
    WEIGHTS_CACHE_DIR=/var/cache/weights \
    WEIGHTS_LOG_DIR=/var/cache/weights/logs
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --find-links /wheels "weights[agent]" \
 && groupadd --system --gid 10001 weights \
 && useradd --system --uid 10001 --gid weights --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin weights \
 && install -d -o weights -g weights -m 0700 /var/cache/weights \
 && install -d -m 0755 /etc/weights
USER 10001:10001
VOLUME ["/var/cache/weights"]
EXPOSE 8080
# Liveness from inside the container with the interpreter it already has (slim images have no curl):
# urlopen raises on anything but a 2xx, so the exit status is the verdict. Readiness is GET /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('WEIGHTS_PORT', '8080') + '/healthz', timeout=2)"]
ENTRYPOINT ["weights", "agent"]
