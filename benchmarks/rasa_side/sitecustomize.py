"""Bench only: `rasa run` as Rasa comes, without Polkuopas's speed-ups.

bot/polkuopas_channel.py calls `polkuopas_speedups.install()` when Rasa
imports it. For its "Rasa stock" server `make bench` puts this folder on
PYTHONPATH with POLKUOPAS_BENCH_RASA_STOCK=1 (and an endpoints file with
Rasa's own SQL tracker store), so Python imports this file at start-up and
`install()` does nothing there. The product never has this folder on its path.
"""

import os

if os.environ.get("POLKUOPAS_BENCH_RASA_STOCK") == "1":
    import polkuopas_speedups

    def _not_installed(**_options: object) -> bool:
        polkuopas_speedups.log.warning(
            "bench: Rasa stock, polkuopas speed-ups not installed"
        )
        return False

    polkuopas_speedups.install = _not_installed
