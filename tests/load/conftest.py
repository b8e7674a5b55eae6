"""tests/load/ holds the `make loadtest` driver (a load run, not timed tests).

pytest collects nothing here: the driver starts the whole stack and runs for
minutes. Its pure parts are tested in tests/test_loadtest.py.
"""

collect_ignore_glob = ["*.py"]
