-- CreateEnum
CREATE TYPE "license_status" AS ENUM ('active', 'suspended', 'revoked');

-- CreateTable
CREATE TABLE "program" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "display_name_el" TEXT,
    "display_name_en" TEXT,
    "purchase_url" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "program_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "license" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "program_id" INTEGER NOT NULL,
    "customer_name" TEXT NOT NULL,
    "customer_email" TEXT,
    "status" "license_status" NOT NULL DEFAULT 'active',
    "maintenance_end" TIMESTAMPTZ(3),
    "seat_limit" INTEGER NOT NULL DEFAULT 1,
    "notes" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "license_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "seat" (
    "license_id" UUID NOT NULL,
    "pcid" TEXT NOT NULL,
    "bound_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "seat_pkey" PRIMARY KEY ("license_id","pcid")
);

-- CreateIndex
CREATE UNIQUE INDEX "program_name_key" ON "program"("name");

-- CreateIndex
CREATE UNIQUE INDEX "license_key_key" ON "license"("key");

-- CreateIndex
CREATE INDEX "license_program_id_idx" ON "license"("program_id");

-- CreateIndex
CREATE INDEX "seat_pcid_idx" ON "seat"("pcid");

-- AddForeignKey
ALTER TABLE "license" ADD CONSTRAINT "license_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "program"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "seat" ADD CONSTRAINT "seat_license_id_fkey" FOREIGN KEY ("license_id") REFERENCES "license"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "seat" ADD CONSTRAINT "seat_pcid_fkey" FOREIGN KEY ("pcid") REFERENCES "pcid"("id") ON DELETE CASCADE ON UPDATE CASCADE;
