-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "pcid" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "address" TEXT NOT NULL,
    "user_agent" TEXT,
    "program" TEXT,

    CONSTRAINT "pcid_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "pcid_created_at_idx" ON "pcid"("created_at");
