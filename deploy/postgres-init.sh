#!/bin/sh
# The client store's own user and database in the postgres service: the
# official image runs this once, on its first start with an empty data volume
# (deploy/compose.yml mounts it in /docker-entrypoint-initdb.d). Only that user
# (and superusers) may connect to the database.
#
# On a server that already has its data (or on a managed PostgreSQL), run it
# once by hand as an administrator with the same variables set, for example:
#   docker compose -f deploy/compose.yml exec postgres \
#     sh /docker-entrypoint-initdb.d/polkuopas-clients.sh
set -eu
: "${CLIENT_DB_NAME:?}" "${CLIENT_DB_USER:?}" "${CLIENT_DB_PASSWORD:?}"
# The values come from the environment (\getenv, never on a command line) and
# stay quoted (:"name" an identifier, :'text' a string).
psql -v ON_ERROR_STOP=1 -X -q \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
\getenv client_db CLIENT_DB_NAME
\getenv client_user CLIENT_DB_USER
\getenv client_password CLIENT_DB_PASSWORD
CREATE ROLE :"client_user" LOGIN PASSWORD :'client_password';
-- Collation C: text sorts by code point, as in SQLite (and å, ä, ö after z).
CREATE DATABASE :"client_db" OWNER :"client_user" ENCODING 'UTF8'
  LC_COLLATE 'C' TEMPLATE template0;
REVOKE ALL ON DATABASE :"client_db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"client_db" TO :"client_user";
SQL
