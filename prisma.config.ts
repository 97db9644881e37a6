// Used by the Prisma CLI (`prisma generate`, and `prisma migrate deploy` in the Docker image).
// The server itself reads DATABASE_URL through src/config.ts.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' }
})
