#!/bin/sh
# Restore a backup made by backup.sh into an empty database, and its evidence files into an empty folder.
# deploy/README.md, "Backups", says what follows: the migrations, the services, the ledger check.
#
#   DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/tourism EVIDENCE_DIR=/evidence restore.sh /backups/20261207T020000Z
#
# DATABASE_URL  the database to restore into, read directly; none of the backup's schemas may exist there
#               (restore into a new database, then point the services at it).
# EVIDENCE_DIR  where intake's evidence files go (INTAKE_EVIDENCE_DIR of the restored intake).
set -eu
: "${DATABASE_URL:?set DATABASE_URL (an empty database)}"
backup="${1:?usage: restore.sh BACKUP_DIR}"
url=$(printf '%s' "$DATABASE_URL" | sed 's#^postgresql+asyncpg://#postgresql://#')

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)
schemas=$(sed -n 's/^schemas=//p' "$backup/MANIFEST")
for schema in $schemas; do
  found=$(psql "$url" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = '$schema'")
  if [ "$found" != 0 ]; then
    echo "restore: schema $schema already exists in the target database: restore into an empty one" >&2
    exit 1
  fi
done
pg_restore --dbname="$url" --no-owner --no-privileges --exit-on-error --single-transaction "$backup/database.dump"

if [ -f "$backup/evidence.tar.gz" ]; then
  : "${EVIDENCE_DIR:?set EVIDENCE_DIR (where intake reads its evidence files)}"
  mkdir -p "$EVIDENCE_DIR"
  tar -C "$EVIDENCE_DIR" -xzf "$backup/evidence.tar.gz"
fi
echo "restored $schemas from $backup"
