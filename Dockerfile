# syntax=docker/dockerfile:1
# Rapport's image: the API server, its migrations and nothing else (no embedded
# PostgreSQL, no test tools: those are the `embedded` and `dev` extras).
#
#   docker build -t rapport .
#   docker run -e DATABASE_URL=postgresql://... -e PORT=8000 -p 8000:8000 rapport
#   docker run -e DATABASE_URL=postgresql://... rapport migrate     # one-shot, then exit
#
# The base is pinned by digest, which never moves; the tag beside it says what it is.
# To renew: `docker buildx imagetools inspect python:3.11-slim-bookworm`, then replace
# both the tag and the digest here.
# python:3.11.13-slim-bookworm
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# Build stage: the locked runtime dependencies and the package, in a virtualenv.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/pip uninstall --yes pip

# Runtime stage: the virtualenv, the migrations, an unprivileged user.
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="Rapport" \
      org.opencontainers.image.description="Referral-relationship engine: a REST/JSON API on PostgreSQL" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.13-slim-bookworm" \
      org.opencontainers.image.base.digest="sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1"
# RAPPORT_PORT is left unset on purpose: it would win over the PORT a platform sets.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RAPPORT_ENVIRONMENT=production \
    RAPPORT_HOST=0.0.0.0 \
    RAPPORT_DATA_DIR=/var/lib/rapport
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/rapport --create-home rapport
WORKDIR /srv/rapport
COPY --from=build /opt/venv /opt/venv
COPY alembic ./alembic
COPY alembic.ini ./
USER 10001:10001
EXPOSE 8000
# Asks the port the server listens on (RAPPORT_PORT, else PORT, else 8000), and only
# believes Rapport's own answer. The start period covers waiting for the database
# (RAPPORT_DB_WAIT_SECONDS, 60) and migrating.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["rapport", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["rapport"]
CMD ["serve"]
