# syntax=docker/dockerfile:1
# iupdate-server: build with the dev toolchain, run on a slim image with the Prisma CLI
# for `prisma migrate deploy`, which the entrypoint runs before starting the server.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The npm workspace of iupdate-client (docs/client.md): npm ci needs its package.json; the image does not run it.
COPY client/package.json ./client/
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts tsconfig.json ./
RUN npm ci
COPY src ./src
# The web console (docs/console.md), bundled into dist/console by npm run build.
COPY console ./console
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    FTP_ROOT=/srv/ftp \
    DATA_DIR=/srv/data \
    MIGRATE_ON_START=false \
    CHECKPOINT_DISABLE=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends openssl ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# The real Prisma CLI (with its native schema engine) applies migrations at start.
RUN npm install -g prisma@7.10.1 && npm cache clean --force
COPY --from=build /app/package.json /app/prisma.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY ftp /srv/ftp
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN mkdir -p /srv/data && chown -R node:node /srv /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node", "dist/src/server.js"]
