#!/bin/sh
# Applies pending migrations with the real Prisma CLI, then starts the server.
# The server's own runner agrees with it: both record migrations in _prisma_migrations.
set -e
if [ -z "$DATABASE_URL" ]; then
  echo "DATABASE_URL must be set in the container (the embedded database is for npm start)" >&2
  exit 1
fi
if [ "${SKIP_MIGRATE_DEPLOY:-false}" != "true" ]; then
  prisma migrate deploy --config /app/prisma.config.ts
fi
exec "$@"
