#!/bin/sh
# Back up a province: every service's schema (one pg_dump run, so one snapshot of all four: a payout is
# never restored without the claim that led to it) and intake's evidence files. deploy/README.md, "Backups".
#
#   DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/tourism EVIDENCE_DIR=/evidence backup.sh /backups
#
# DATABASE_URL  the services' database, read directly (not through PgBouncer); a SQLAlchemy URL
#               (postgresql+asyncpg://...) is taken too. Its user must read every schema.
# SCHEMAS       the services' schemas (default: gateway intake compensation credit, as *_DATABASE_SCHEMA)
# EVIDENCE_DIR  intake's evidence files (INTAKE_EVIDENCE_DIR), read after the dump so that every evidence
#               row in it has its file; unset: no files are taken.
# Writes OUTPUT/<UTC time>/: database.dump (pg_dump's custom format), evidence.tar.gz, MANIFEST, SHA256SUMS,
# and prints that folder. pg_dump must be of the server's major version or newer.
set -eu
: "${DATABASE_URL:?set DATABASE_URL (the services database)}"
out="${1:?usage: backup.sh OUTPUT_DIR}"
schemas="${SCHEMAS:-gateway intake compensation credit}"
url=$(printf '%s' "$DATABASE_URL" | sed 's#^postgresql+asyncpg://#postgresql://#')
target="$out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target"

set --
for schema in $schemas; do set -- "$@" "--schema=$schema"; done
pg_dump --dbname="$url" --format=custom --no-owner --no-privileges "$@" --file="$target/database.dump"
# Each schema came with its tables and its Alembic version (the restore migrates from there).
for schema in $schemas; do
  if ! pg_restore --list "$target/database.dump" | grep -q " TABLE DATA $schema alembic_version "; then
    echo "backup: the dump has no $schema.alembic_version: is $schema a service's schema here?" >&2
    exit 1
  fi
done

files=database.dump
if [ -n "${EVIDENCE_DIR:-}" ]; then
  tar -C "$EVIDENCE_DIR" -czf "$target/evidence.tar.gz" .
  files="$files evidence.tar.gz"
fi
{
  echo "schemas=$schemas"
  echo "server_version=$(psql "$url" -Atc 'SHOW server_version')"
  echo "taken_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$target/MANIFEST"
(cd "$target" && sha256sum $files MANIFEST >SHA256SUMS)
echo "$target"
