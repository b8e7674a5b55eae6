#!/usr/bin/env bash
# `make run`: install what is missing, seed the demo, bring the model up to
# date, start the action server, the Rasa server and the web app, print how to
# talk to them, and stop all of them on Ctrl-C.
#
# The terminal gets one line per stage; everything the tools print goes to
# var/log/ (install.log, demo.log, train.log, action-server.log, rasa.log,
# web.log), and the end of the log is shown when a stage fails.
# Ports: POLKUOPAS_ACTION_PORT (5055), POLKUOPAS_RASA_PORT (5005),
# POLKUOPAS_WEB_PORT (8000).
set -euo pipefail
cd "$(dirname "$0")/.."

make=${MAKE:-make}
polkuopas=.venv/bin/polkuopas
model=bot/models/polkuopas.tar.gz
action_port=${POLKUOPAS_ACTION_PORT:-5055}
rasa_port=${POLKUOPAS_RASA_PORT:-5005}
web_port=${POLKUOPAS_WEB_PORT:-8000}
export POLKUOPAS_DEMO=${POLKUOPAS_DEMO:-true}
export POLKUOPAS_RASA_URL=${POLKUOPAS_RASA_URL:-http://127.0.0.1:$rasa_port}
export POLKUOPAS_CORS_ORIGINS=${POLKUOPAS_CORS_ORIGINS:-http://localhost:$web_port http://127.0.0.1:$web_port}
read -r -a cors_origins <<<"${POLKUOPAS_CORS_ORIGINS//,/ }"
export POLKUOPAS_ACTION_URL=${POLKUOPAS_ACTION_URL:-http://127.0.0.1:$action_port/webhook}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
mkdir -p var/log

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] || return 0
  printf "\n==> stopping the servers (Rasa may take half a minute)\n"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "Polkuopas stopped."
}
stopped_by_user() {
  stop
  exit 0
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

elapsed() { # seconds -> "42 s" or "3 min 5 s"
  if [ "$1" -ge 60 ]; then echo "$(($1 / 60)) min $(($1 % 60)) s"; else echo "$1 s"; fi
}

# What Rasa is training, from its log: the component, and its epochs if it
# reports them ("DIETClassifier, Epochs: 51%").
training_status() {
  tr '\r' '\n' <"$1" | awk '
    /Starting to train component/ {
      split($0, quoted, "\047"); component = quoted[2]; epochs = ""
    }
    match($0, /Epochs: *[0-9]+%/) { epochs = substr($0, RSTART, RLENGTH) }
    END {
      gsub(/ +/, " ", epochs)
      if (component != "") printf "%s%s", component, (epochs != "" ? ", " epochs : "")
    }'
}

# stage LABEL LOG COMMAND...: run COMMAND with its output in LOG, showing the
# time it has taken (and what it is doing, for training) on a terminal, a dot
# every 5 s elsewhere; on failure show the end of LOG and stop.
stage() {
  local label=$1 log=$2 waited=0 status
  shift 2
  printf "==> %s:" "$label"
  "$@" >"$log" 2>&1 &
  pids+=($!)
  while kill -0 "${pids[-1]}" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ -t 1 ]; then
      status=$(training_status "$log")
      printf "\r\033[K==> %s: %s%s" "$label" "$(elapsed "$waited")" "${status:+ ($status)}"
    elif [ $((waited % 5)) -eq 0 ]; then
      printf "."
    fi
  done
  if [ -t 1 ]; then printf "\r\033[K==> %s:" "$label"; fi
  if ! wait "${pids[-1]}"; then
    echo " failed; the end of $log:"
    tail -n 25 "$log"
    exit 1
  fi
  unset 'pids[-1]'
  stage_seconds=$waited
}

# wait_for NAME URL LOG SECONDS: the server started last answers at URL.
wait_for() {
  local name=$1 url=$2 log=$3 limit=$4 waited=0
  printf "==> %s:" "$name"
  until curl -sf "$url" >/dev/null 2>&1; do
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo " stopped while starting; the end of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$limit" ]; then
      echo " did not answer within ${limit} s; see $log" >&2
      exit 1
    fi
    printf "."
    sleep 2
    waited=$((waited + 2))
  done
  echo " ready"
}

# The model is up to date when no training file changed after it was made;
# otherwise Rasa validates the data and trains what changed (its own cache
# keeps the parts that did not).
model_up_to_date() {
  [ -f "$model" ] || return 1
  [ -z "$(find bot data -path bot/models -prune -o -name '*.yml' -newer "$model" -print -quit)" ]
}

main() {
  trap stopped_by_user INT TERM
  trap stop EXIT

  for port in "$action_port" "$rasa_port" "$web_port"; do
    if port_busy "$port"; then
      echo "Port $port is already in use: is Polkuopas already running? Stop it first," >&2
      echo "or choose other ports (POLKUOPAS_ACTION_PORT, POLKUOPAS_RASA_PORT," \
        "POLKUOPAS_WEB_PORT)." >&2
      exit 1
    fi
  done

  stage "installing what is missing" var/log/install.log \
    "$make" --no-print-directory install
  if [ -s var/log/install.log ]; then echo " done"; else echo " nothing missing"; fi

  stage "demo data" var/log/demo.log "$polkuopas" demo
  echo " ready ($(grep -c '^demo client' var/log/demo.log) demo clients)"

  # The demo staff accounts (`polkuopas demo`) get fresh passwords at every start.
  printf "==> demo staff passwords"
  local staff password staff_signins=""
  for staff in demo-tyontekija:tyontekija@esimerkki.fi \
    demo-polun-omistaja:polun-omistaja@esimerkki.fi demo-admin:admin@esimerkki.fi; do
    password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))')
    printf '%s\n' "$password" | "$polkuopas" staff password "${staff%%:*}" \
      >>var/log/demo.log 2>&1
    staff_signins+=$(printf '\n    %-28s %s' "${staff#*:}" "$password")
  done
  echo " ready"

  if model_up_to_date; then
    echo "==> model: up to date ($model)"
  else
    stage "training the model (a few minutes)" var/log/train.log \
      "$make" --no-print-directory train
    echo " done in $(elapsed "$stage_seconds")"
  fi

  # Only Rasa may call the action server: a fresh shared secret per start.
  POLKUOPAS_ACTION_SECRET=${POLKUOPAS_ACTION_SECRET:-$(.venv/bin/python -c \
    'import secrets; print(secrets.token_urlsafe(32))')}
  export POLKUOPAS_ACTION_SECRET

  POLKUOPAS_ACTION_PORT=$action_port .venv/bin/python -m polkuopas.action_server \
    >var/log/action-server.log 2>&1 &
  pids+=($!)
  wait_for "action server" "http://127.0.0.1:$action_port/health" \
    var/log/action-server.log 60

  PYTHONPATH=bot .venv-rasa/bin/rasa run --model "$model" \
    --endpoints bot/endpoints.yml --credentials bot/credentials.yml \
    --interface 127.0.0.1 --port "$rasa_port" --cors "${cors_origins[@]}" \
    >var/log/rasa.log 2>&1 &
  pids+=($!)
  # Loading TensorFlow, spaCy and the model takes a minute or more.
  wait_for "Rasa server" "http://127.0.0.1:$rasa_port/webhooks/rest/" var/log/rasa.log 300

  POLKUOPAS_WEB_PORT=$web_port .venv/bin/python -m polkuopas.web >var/log/web.log 2>&1 &
  pids+=($!)
  wait_for "web app" "http://127.0.0.1:$web_port/health" var/log/web.log 60

  local token link
  token=$($polkuopas client token demo-suvi --days 1 2>/dev/null | tail -n 1)
  link=$(POLKUOPAS_LINK_BASE="http://localhost:$web_port/" \
    $polkuopas client token demo-valtteri --days 1 --link 2>/dev/null | tail -n 1)
  cat <<MSG

Polkuopas is running on embedded defaults (SQLite: ${POLKUOPAS_DB:-var/polkuopas.db}).
  demo page (open this):       http://localhost:$web_port/
  role page, paths, embed:     http://localhost:$web_port/roolit  /polut  /upotus
  Valtteri's personal link:    $link
  workspace (professionals):   http://localhost:$web_port/tyotila/kirjaudu
  demo sign-ins (e-mail, password; new at every start; the worker is Anna
  Virtanen, omatyöntekijä of Suvi):$staff_signins
  Rasa server (REST channel):  http://127.0.0.1:$rasa_port/webhooks/rest/webhook
  action server:               http://127.0.0.1:$action_port  (/health, /actions)
  logs:                        var/log/

Ask as the demo client Suvi (a personal token valid for one day):
  curl -s http://127.0.0.1:$rasa_port/webhooks/rest/webhook \\
    -H 'Authorization: Bearer $token' \\
    -d '{"sender": "demo", "message": "kuka on minun työvalmentajani?"}'

Ask without a token (general questions only):
  curl -s http://127.0.0.1:$rasa_port/webhooks/rest/webhook \\
    -d '{"sender": "demo", "message": "mitä työhönvalmentaja tekee?"}'

Demo clients: $($polkuopas client list | cut -f1 | tr '\n' ' ')
Stop with Ctrl-C.
MSG

  # Run until a server stops (or Ctrl-C).
  wait -n "${pids[@]}"
  echo "A server stopped unexpectedly; see var/log/." >&2
  exit 1
}

if [ -t 1 ]; then
  # On a terminal, run everything as a job of its own (job control): Ctrl-C
  # then reaches these servers and this script's traps, not `make`, which
  # would otherwise report the interrupt as an error.
  # A failing job stops the script with its status (set -e).
  set -m
  (main)
  exit 0
fi
main
