# syntax=docker/dockerfile:1
# Build stage: install the locked dependencies into a virtualenv.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock pyproject.toml README.md ./
RUN /opt/venv/bin/pip install --require-hashes -r requirements.lock
COPY app ./app
RUN /opt/venv/bin/pip install --no-deps .

# Runtime stage: the virtualenv, the migrations, an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RAPPORT_ENVIRONMENT=production \
    RAPPORT_DATA_DIR=/var/lib/rapport
RUN useradd --system --uid 10001 --home-dir /var/lib/rapport --create-home rapport
WORKDIR /srv/rapport
COPY --from=build /opt/venv /opt/venv
COPY alembic ./alembic
COPY alembic.ini ./
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["rapport", "serve"]
CMD ["--host", "0.0.0.0", "--port", "8000"]
