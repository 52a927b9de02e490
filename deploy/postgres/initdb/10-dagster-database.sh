#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume: creates the database
# that holds Dagster's run, event-log and schedule storage, owned by the stack's main user.
# (gatepulse's own tables are made by `gatepulse migrate`; the dashboard's read-only role by a
# migration, its login user by `gatepulse create-readonly-user`.) For a volume initialised
# before this script existed, run it by hand: docker compose exec postgres sh \
#   /docker-entrypoint-initdb.d/10-dagster-database.sh
set -eu
db="${DAGSTER_POSTGRES_DB:-dagster}"
case "$db" in
  "" | *[!a-z0-9_]*) echo "DAGSTER_POSTGRES_DB must be lower-case letters, digits, _" >&2; exit 1 ;;
esac
exists=$(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '$db'")
if [ "$exists" != "1" ]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
  echo "created database $db for Dagster"
fi
