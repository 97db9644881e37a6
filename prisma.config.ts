// Used by the Prisma CLI (`prisma generate`, and `prisma migrate deploy` in the Docker image).
// The server itself reads DATABASE_URL through src/config.ts. A plain object rather than
// `defineConfig` from 'prisma/config', so that the production image, which has the Prisma
// CLI installed globally and not in node_modules, can load it.
export default {
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' }
}
