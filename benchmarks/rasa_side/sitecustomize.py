"""Bench only: `rasa run` as Rasa comes, without Polkuopas's speed-ups.

The channel (bot/polkuopas_rasa/channel.py) calls `speedups.install()` when
Rasa builds it. For its "Rasa stock" server `make bench` puts this folder on
PYTHONPATH with POLKUOPAS_BENCH_RASA_STOCK=1 (and an endpoints file with
Rasa's own SQL tracker store), so Python imports this file at start-up and
`install()` does nothing there. The product never has this folder on its path.
"""

import os

if os.environ.get("POLKUOPAS_BENCH_RASA_STOCK") == "1":
    from polkuopas_rasa import speedups

    def _not_installed(**_options: object) -> bool:
        speedups.log.warning("bench: Rasa stock, polkuopas speed-ups not installed")
        return False

    speedups.install = _not_installed
