"""Benchmarks and evaluations, apart from the product: `make bench` (bench.py),
`make loadtest` (load/), `make eval-nlu` (eval_nlu.py), the speed-up checks run
inside Rasa by tests/test_speedups.py (check_speedups.py), and the server
launcher the end-to-end and browser tests share (servers.py).

Run from the repository root as modules (`python -m benchmarks.bench`); nothing
here is in the `polkuopas` package or in an image.
"""
