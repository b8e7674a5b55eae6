"""Bench only: undo the action-server changes named in POLKUOPAS_BENCH_REVERT.

`make bench` puts this folder on PYTHONPATH for the servers it starts as they
were before a change, so Python imports this file at start-up (also in Sanic's
worker processes); see polkuopas_bench_revert.py.
"""

import os

_revert = {n for n in os.environ.get("POLKUOPAS_BENCH_REVERT", "").split(",") if n}
if _revert:
    import polkuopas_bench_revert

    polkuopas_bench_revert.apply(_revert)
