#!/bin/sh
# The Rasa server in its container (deploy/rasa.Dockerfile): the model built
# into the image, deploy/endpoints.yml (PostgreSQL tracker store, Redis lock
# store, the action servers) and Polkuopas's token channel (bot/credentials.yml:
# bot/polkuopas_rasa/channel.py; the client store from POLKUOPAS_DB). No Rasa HTTP API is enabled.
set -eu
# The origins are split on spaces and commas on purpose (one per argument), with
# file-name globbing off.
set -f
# shellcheck disable=SC2046
exec rasa run --model bot/models/polkuopas.tar.gz \
  --endpoints deploy/endpoints.yml --credentials bot/credentials.yml \
  --interface 0.0.0.0 --port 5005 \
  --cors $(printf '%s' "$POLKUOPAS_CORS_ORIGINS" | tr ',' ' ')
