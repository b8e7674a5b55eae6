# syntax=docker/dockerfile:1
# The Rasa server: Rasa 3.6 on Python 3.10 (Rasa's limit) with the Finnish spaCy
# pipeline (Debian's Voikko), Polkuopas's Rasa side (bot/polkuopas_rasa) with
# the contract package it shares with the app (actions/contract), and the
# trained model.
# Build context: the repository root (deploy/compose.yml does this).
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    PYTHONPATH=/app/bot

# Voikko gives the Finnish pipeline its lemmas.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvoikko1 voikko-fi \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The contract first (standard library only), then Rasa.
COPY actions/contract/ actions/contract/
RUN pip install --no-cache-dir ./actions/contract
COPY bot/requirements.txt bot/requirements.txt
RUN pip install --no-cache-dir --requirement bot/requirements.txt

COPY bot/ bot/
COPY data/ data/
# The model. By default it is trained here, on exactly the data in the image,
# with the command `make train` runs (minutes). With --build-arg TRAIN=no the
# model that `make train` left in bot/models/ is copied in with bot/ instead.
ARG TRAIN=yes
RUN if [ "$TRAIN" = yes ]; then \
      rasa train --config bot/config.yml --domain bot/domain.yml \
        --data data --out bot/models --fixed-model-name polkuopas \
      && rm -rf .rasa bot/.rasa; \
    elif [ ! -f bot/models/polkuopas.tar.gz ]; then \
      echo "TRAIN=no needs bot/models/polkuopas.tar.gz: run make train first" >&2; \
      exit 1; \
    fi

COPY deploy/endpoints.yml deploy/rasa-start.sh deploy/

RUN useradd --create-home --uid 10001 rasa
USER rasa
EXPOSE 5005
CMD ["sh", "deploy/rasa-start.sh"]
