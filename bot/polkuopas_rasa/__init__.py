"""Polkuopas inside Rasa (Python 3.10, Rasa's environment), one job a module.

* `channel`: the input channel (bot/credentials.yml), Rasa's REST URL and body
  with the personal token checked and a rate limit;
* `tokencheck`: the token's look-up in the client store, SQLite or PostgreSQL;
* `speedups`: patches for Rasa 3.6.21, put in by an explicit `install()` (the
  channel's constructor calls it);
* `trackerstore`: Rasa's SQL tracker store with a cache and a window
  (bot/endpoints.yml).

What they share with the app side comes from the contract package
(polkuopas_contract, actions/contract). Importing this package changes nothing
in Rasa.
"""
