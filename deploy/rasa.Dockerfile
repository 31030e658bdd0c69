# syntax=docker/dockerfile:1
# Rasa 3.6 server and action server (one image, two commands), Python 3.10.
#
#   docker build -f deploy/rasa.Dockerfile -t child-protection-rasa .          # model trained in the build
#   make train && docker build --build-arg MODEL_STAGE=trained -f deploy/rasa.Dockerfile ...  # or not
#   docker run ... child-protection-rasa                                        # Rasa on :5005
#   docker run ... child-protection-rasa rasa run actions --actions actions --port 5055
#
# By default the model is trained in the `train` stage from the data in this checkout (as `make
# train` does, about half an hour on two cores); MODEL_STAGE=trained takes models/current.tar.gz
# that `make train` already made in this checkout instead. Either way it is baked in at
# /app/models/current.tar.gz; mount a volume on /app/models to replace it without a rebuild
# (deploy/compose.yml does, and a new named volume starts with the baked model).
ARG PYTHON_IMAGE=python:3.10-slim-bookworm
ARG MODEL_STAGE=train

# ---- dependencies: a virtual environment pinned by requirements/rasa-constraints.txt
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
COPY requirements/rasa.txt requirements/rasa-constraints.txt /tmp/req/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install "pip<24.1" wheel "setuptools<70" \
 && /opt/venv/bin/pip install -r /tmp/req/rasa.txt -c /tmp/req/rasa-constraints.txt

# ---- the application code (no tests, no data beyond what runs)
FROM ${PYTHON_IMAGE} AS app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_DETERMINISTIC_OPS=1 \
    ACTION_SERVER_URL=http://actions:5055/webhook \
    NLG_URL= \
    NLG_TOKEN= \
    TRACKER_STORE_URL= \
    LOCK_STORE_URL= \
    MPLCONFIGDIR=/tmp/matplotlib
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY config.yml domain.yml endpoints.yml credentials.yml ./
COPY vietnlu/ vietnlu/
COPY actions/ actions/
COPY rasa_nlg/ rasa_nlg/
COPY rasa_stores/ rasa_stores/
COPY rasa_speedups/ rasa_speedups/
COPY rasa_auth/ rasa_auth/
# The lexicons are read at run time by the tokenizer and the risk rules.
COPY data/lexicon/ data/lexicon/

# ---- training: the same steps as `make train`
FROM app AS train
COPY data/ data/
RUN python -m vietnlu.augment data/nlu build/nlu/augmented.yml --corpus data/risk \
 && rasa train --data build/nlu/augmented.yml data/rules data/stories --domain domain.yml \
      --config config.yml --out models --fixed-model-name current

# ---- or the model `make train` made in this checkout (MODEL_STAGE=trained)
FROM app AS trained
COPY models/current.tar.gz /app/models/current.tar.gz

# ---- the model the build argument chose
FROM ${MODEL_STAGE} AS model

# ---- runtime: non-root, model baked in
FROM app AS runtime
RUN groupadd --system --gid 10001 rasa \
 && useradd --system --uid 10001 --gid rasa --home-dir /app --shell /usr/sbin/nologin rasa \
 && mkdir -p /app/models /app/.rasa /tmp/matplotlib \
 && chown -R rasa:rasa /app/models /app/.rasa /tmp/matplotlib
# The risk model reads its corpus only when training; the risk lexicon and teencode are enough here.
COPY --from=model --chown=rasa:rasa /app/models/current.tar.gz /app/models/current.tar.gz
USER 10001:10001
EXPOSE 5005 5055
COPY --chown=rasa:rasa deploy/healthcheck.py /app/deploy/healthcheck.py
# Rasa answers / once its model is loaded, the action server /health: the check passes on whichever
# of the two this container runs (HEALTHCHECK_URL narrows it).
ENV HEALTHCHECK_URL=http://127.0.0.1:5005/,http://127.0.0.1:5055/health
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "/app/deploy/healthcheck.py"]
# Rasa's HTTP API and its REST channel (the gateway uses /webhooks/rest and /model/parse) always want
# the token; rasa_auth.launch reads it from RASA_TOKEN (refusing to start without it), so it is never
# on the command line that `ps` shows.
CMD ["python", "-m", "rasa_auth.launch", "run", "--enable-api", "--port", "5005", "--interface", "0.0.0.0", "--model", "/app/models/current.tar.gz", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
