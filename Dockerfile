# syntax=docker/dockerfile:1
# Conduit's image: `docker build -t conduit .`, then `docker run conduit` (or compose.yaml).
#
# The build stage builds Conduit's wheel and every dependency's wheel; the runtime stage installs
# them from that stage, offline, into a slim image with no compiler, and runs as a non-root user.
# The default command migrates, then serves on 0.0.0.0:8000; behind PgBouncer run
# `conduit migrate upgrade` against the primary first and `serve --no-migrate` (compose.yaml does).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN pip install build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m build --wheel --outdir /dist \
    && pip wheel --wheel-dir /wheels /dist/conduit-*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/conduit-*.whl
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/conduit --create-home \
        --shell /usr/sbin/nologin conduit
# The working directory holds what Conduit reads from its current directory (.env) and, with
# the default DATABASE_URL, the SQLite file: the conduit user owns it.
WORKDIR /var/lib/conduit
USER 10001:10001
EXPOSE 8000
# Readiness: 200 only after a database round trip; urlopen raises on the 503 (no curl in the image).
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=3)"]
ENTRYPOINT ["conduit"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
