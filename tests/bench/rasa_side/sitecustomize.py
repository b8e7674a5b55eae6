"""Bench only: install the Rasa speed-ups when POLKUOPAS_BENCH_SPEEDUPS=1.

`make bench` puts this folder on PYTHONPATH of the Rasa variant it starts with
the proposed changes, so Python imports this file at start-up; the product
would instead call `polkuopas_speedups.install()` from bot/polkuopas_channel.py
(see reports/bench.md).
"""

import os

if os.environ.get("POLKUOPAS_BENCH_SPEEDUPS") == "1":
    import polkuopas_speedups

    polkuopas_speedups.install()
