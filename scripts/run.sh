#!/usr/bin/env bash
# `make run`: the store is migrated and the demo seeded (make did that); this
# prints where everything is. Servers are added here as they are built.
set -euo pipefail
cd "$(dirname "$0")/.."

polkuopas=.venv/bin/polkuopas
db=${POLKUOPAS_DB:-var/polkuopas.db}

echo
echo "Polkuopas is ready on embedded defaults."
echo "  client store (SQLite): $db"
echo "  service paths:         paths/ ($($polkuopas paths list | wc -l) paths)"
echo
echo "Demo clients:"
$polkuopas client list | sed 's/^/  /'
echo
echo "Try the admin CLI:"
echo "  $polkuopas paths show kuntouttava-tyotoiminta"
echo "  $polkuopas client show demo-suvi"
echo "  $polkuopas followups"
echo "  $polkuopas client token demo-suvi --link"
