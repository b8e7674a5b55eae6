"""Bench only: apply the action-server changes named in POLKUOPAS_BENCH_TUNE.

`make bench` puts this folder on PYTHONPATH for the variant servers it starts,
so Python imports this file at start-up (also in Sanic's worker processes).
"""

import os

_tune = {t for t in os.environ.get("POLKUOPAS_BENCH_TUNE", "").split(",") if t}
if _tune:
    import polkuopas_bench_tune

    polkuopas_bench_tune.apply(_tune)
