#!/usr/bin/env bash
# Print the path of a Python interpreter of the wanted version range, or explain
# what to install. Usage: find-python.sh bot   (Python 3.10, for Rasa 3.6)
#                         find-python.sh app   (Python 3.11 or newer)
# Looks on PATH first, then in pyenv's versions (without needing pyenv's shell
# setup), so a plain shell or CI finds the same interpreter as a developer.
set -euo pipefail

want=${1:?usage: find-python.sh bot|app}

version_ok() { # $1 = interpreter; succeeds when its version fits $want
  local v
  v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
  case $want in
    bot) [ "$v" = "3.10" ] ;;
    app) [ "${v%%.*}" -eq 3 ] && [ "${v#*.}" -ge 11 ] ;;
  esac
}

candidates=()
case $want in
  bot) candidates+=(python3.10) ;;
  app) candidates+=(python3 python3.13 python3.12 python3.11) ;;
  *) echo "find-python.sh: unknown environment '$want' (bot or app)" >&2; exit 2 ;;
esac

pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
if command -v pyenv >/dev/null 2>&1 || [ -x "$pyenv_root/bin/pyenv" ]; then
  pyenv_bin=$(command -v pyenv || echo "$pyenv_root/bin/pyenv")
  case $want in
    bot) prefixes=$("$pyenv_bin" prefix 3.10.13 2>/dev/null || true) ;;
    app) prefixes="" ;;
  esac
  [ -n "$prefixes" ] && candidates+=("$prefixes/bin/python3")
fi
# pyenv's versions folder, newest first, in case pyenv itself is not on PATH.
case $want in
  bot) globs=("$pyenv_root"/versions/3.10.*/bin/python3.10) ;;
  app) globs=("$pyenv_root"/versions/3.1[1-9].*/bin/python3) ;;
esac
for ((i = ${#globs[@]} - 1; i >= 0; i--)); do candidates+=("${globs[$i]}"); done

for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if version_ok "$path"; then
    # The real interpreter, not a pyenv shim whose meaning depends on the shell.
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

case $want in
  bot) cat >&2 <<'MSG'
Polkuopas: no Python 3.10 found. Rasa 3.6 runs only on Python 3.10 or older.
Install it, then run the command again, for example:
  pyenv install 3.10.13          (pyenv), or
  apt-get install python3.10 python3.10-venv   (where your distribution has it)
MSG
  ;;
  app) cat >&2 <<'MSG'
Polkuopas: no Python 3.11 or newer found for the action server, CLI and web app.
Install one (for example: pyenv install 3.11.7), then run the command again.
MSG
  ;;
esac
exit 1
