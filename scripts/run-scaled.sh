#!/usr/bin/env bash
# `make run-scaled`: the scale-out shape of deploy/compose.yml on this machine,
# without Docker (deploy/run_scaled.py): nginx on POLKUOPAS_SCALED_PORT (8080)
# in front of two Rasa servers and the web app, PostgreSQL, Redis, two action
# servers. One line per stage; logs in var/scaled/log/. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${POLKUOPAS_SCALED_PORT:-8080}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "Port $port is already in use: is Polkuopas already running? Stop it first," >&2
  echo "or choose another port (POLKUOPAS_SCALED_PORT)." >&2
  exit 1
fi
if [ ! -f bot/models/polkuopas.tar.gz ]; then
  echo "==> training the model (a few minutes; log: var/scaled-train.log)"
  mkdir -p var
  "${MAKE:-make}" --no-print-directory train >var/scaled-train.log 2>&1
fi

run() { .venv/bin/python -m deploy.run_scaled; }
if [ -t 1 ]; then
  # On a terminal, as a job of its own (as scripts/run.sh does): Ctrl-C then
  # reaches the launcher, which stops every server, and not `make`.
  set -m
  (run)
  exit 0
fi
run
