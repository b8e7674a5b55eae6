"""tests/bench/ holds the `make bench` scripts (figures, not timed tests).

pytest collects nothing here: the scripts start servers and take minutes.
"""

collect_ignore_glob = ["*.py"]
