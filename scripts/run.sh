#!/usr/bin/env bash
# `make run`: make has installed everything, seeded the demo and trained the
# model. This starts the action server and the Rasa server, waits until both
# answer, prints how to talk to them, and stops both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

polkuopas=.venv/bin/polkuopas
action_port=${POLKUOPAS_ACTION_PORT:-5055}
rasa_port=${POLKUOPAS_RASA_PORT:-5005}
web_port=${POLKUOPAS_WEB_PORT:-8000}
export POLKUOPAS_DEMO=${POLKUOPAS_DEMO:-true}
export POLKUOPAS_RASA_URL=${POLKUOPAS_RASA_URL:-http://127.0.0.1:$rasa_port}
export POLKUOPAS_CORS_ORIGINS=${POLKUOPAS_CORS_ORIGINS:-http://localhost:$web_port http://127.0.0.1:$web_port}
read -r -a cors_origins <<<"${POLKUOPAS_CORS_ORIGINS//,/ }"
export POLKUOPAS_ACTION_URL=${POLKUOPAS_ACTION_URL:-http://127.0.0.1:$action_port/webhook}
# Only Rasa may call the action server: a fresh shared secret per start.
POLKUOPAS_ACTION_SECRET=${POLKUOPAS_ACTION_SECRET:-$(.venv/bin/python -c \
  'import secrets; print(secrets.token_urlsafe(32))')}
export POLKUOPAS_ACTION_SECRET
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
mkdir -p var/log

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "Polkuopas stopped."
}
trap stop EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$action_port" "$rasa_port" "$web_port"; do
  if port_busy "$port"; then
    echo "Port $port is already in use: is Polkuopas already running? Stop it first." >&2
    exit 1
  fi
done

wait_for() { # name url log seconds
  local name=$1 url=$2 log=$3 limit=$4 waited=0
  printf "==> starting %s " "$name"
  until curl -sf "$url" >/dev/null 2>&1; do
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo; echo "$name stopped while starting; the end of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$limit" ]; then
      echo; echo "$name did not answer within ${limit}s; see $log" >&2
      exit 1
    fi
    printf "."; sleep 2; waited=$((waited + 2))
  done
  echo " ready"
}

POLKUOPAS_ACTION_PORT=$action_port .venv/bin/python -m polkuopas.action_server \
  >var/log/action-server.log 2>&1 &
pids+=($!)
wait_for "action server" "http://127.0.0.1:$action_port/health" var/log/action-server.log 60

PYTHONPATH=bot .venv-rasa/bin/rasa run --model bot/models/polkuopas.tar.gz \
  --endpoints bot/endpoints.yml --credentials bot/credentials.yml \
  --interface 127.0.0.1 --port "$rasa_port" --cors "${cors_origins[@]}" \
  >var/log/rasa.log 2>&1 &
pids+=($!)
wait_for "Rasa server" "http://127.0.0.1:$rasa_port/webhooks/rest/" var/log/rasa.log 180

# The demo staff accounts (`polkuopas demo`) get fresh passwords at every start.
printf "==> setting demo staff passwords "
staff_signins=""
for staff in demo-tyontekija:tyontekija@esimerkki.fi \
  demo-polun-omistaja:polun-omistaja@esimerkki.fi demo-admin:admin@esimerkki.fi; do
  password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))')
  printf '%s\n' "$password" | $polkuopas staff password "${staff%%:*}" >/dev/null
  staff_signins+=$(printf '\n    %-28s %s' "${staff#*:}" "$password")
done
echo " ready"

POLKUOPAS_WEB_PORT=$web_port .venv/bin/python -m polkuopas.web >var/log/web.log 2>&1 &
pids+=($!)
wait_for "web app" "http://127.0.0.1:$web_port/health" var/log/web.log 60

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

# Run until either server stops (or Ctrl-C).
wait -n "${pids[@]}"
echo "A server stopped unexpectedly; see var/log/." >&2
exit 1
