# syntax=docker/dockerfile:1
# The FastAPI gateway (Telegram, Zalo, web chat, consoles, workers), Python 3.11.
#
#   docker build -f deploy/gateway.Dockerfile -t child-protection-gateway .
#   docker run ... child-protection-gateway                          # the gateway on :8000
#   docker run ... child-protection-gateway python -m api.cli migrate  # migrations, once per release
#
# Replicas run with RUN_MIGRATIONS_ON_START=false; the migration runs once, before them
# (deploy/compose.yml: the `migrate` service; deploy/k8s: the `migrate` Job).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- dependencies: pinned by requirements/gateway-constraints.txt. The list also names the test
# and lint tools (pytest, playwright, ruff, mypy): installed here as pinned, never run.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/gateway.txt requirements/gateway-constraints.txt /tmp/req/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r /tmp/req/gateway.txt -c /tmp/req/gateway-constraints.txt

# ---- runtime: non-root
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    HEALTHCHECK_URL=http://127.0.0.1:8000/health/ready
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /app --shell /usr/sbin/nologin gateway
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini pyproject.toml domain.yml ./
COPY api/ api/
# The intake screen reads risk with the project's rules (vietnlu and its lexicons).
COPY vietnlu/ vietnlu/
COPY data/lexicon/ data/lexicon/
# The content console reads the training data (inbox export) and seeds responses from domain.yml.
COPY data/nlu/ data/nlu/
COPY deploy/healthcheck.py deploy/healthcheck.py
RUN mkdir -p /app/var /app/models/candidates && chown -R gateway:gateway /app/var /app/models
USER 10001:10001
EXPOSE 8000
# /health/ready answers 200 when the database answers and every worker runs (and Rasa answers,
# unless READY_REQUIRES_RASA=false), 503 naming the failing part otherwise.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["python", "-m", "api"]
