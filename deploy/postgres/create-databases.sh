#!/bin/sh
# Runs once, when the postgres service initialises an empty data volume: a role
# and a database for Custodian, another role with two databases for Temporal.
# Neither role is a superuser, and each can connect to its own databases only.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v custodian_password="$CUSTODIAN_DB_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE custodian LOGIN PASSWORD :'custodian_password';
CREATE DATABASE custodian OWNER custodian;
REVOKE CONNECT ON DATABASE custodian FROM PUBLIC;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
REVOKE CONNECT ON DATABASE temporal, temporal_visibility FROM PUBLIC;
SQL
