#!/bin/sh
# Sets up or upgrades Temporal's schema with Temporal's own tool, the way its
# auto-setup image does, but as a one-off job before the production server
# starts. Safe to run again: setup-schema -v 0.0 only creates the version
# table, and update-schema applies the versions not yet applied.
set -eu
: "${SQL_PASSWORD:?}"
schema=/etc/temporal/schema/postgresql/v12
for pair in "${TEMPORAL_DBNAME:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  dir=${pair#*:}
  tool="temporal-sql-tool --plugin postgres12 --ep ${TEMPORAL_DB_HOST:-postgres} -p ${TEMPORAL_DB_PORT:-5432} -u ${TEMPORAL_DB_USER:-temporal} --db $db"
  $tool setup-schema -v 0.0
  $tool update-schema -d "$schema/$dir/versioned"
done
echo 'Temporal schema is up to date'
