-- CreateTable
CREATE TABLE "program_version" (
    "id" SERIAL NOT NULL,
    "program_id" INTEGER NOT NULL,
    "version" TEXT NOT NULL,
    "released_at" TIMESTAMPTZ(3) NOT NULL,
    "notes_en" TEXT,
    "notes_el" TEXT,
    "yanked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "program_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pcid_program" (
    "pcid" TEXT NOT NULL,
    "program" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "serial" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pcid_program_pkey" PRIMARY KEY ("pcid","program")
);

-- CreateTable
CREATE TABLE "download" (
    "id" UUID NOT NULL,
    "token_hash" TEXT,
    "pcid" TEXT NOT NULL,
    "license_id" UUID,
    "program" TEXT NOT NULL,
    "folder" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "covered" int8multirange DEFAULT '{}'::int8multirange,
    "sent" int8multirange DEFAULT '{}'::int8multirange,
    "bytes_served" BIGINT NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    "confirmed_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "error" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "download_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "program_version_program_id_version_key" ON "program_version"("program_id", "version");

-- CreateIndex
CREATE INDEX "pcid_program_program_version_idx" ON "pcid_program"("program", "version");

-- CreateIndex
CREATE UNIQUE INDEX "download_token_hash_key" ON "download"("token_hash");

-- CreateIndex
CREATE INDEX "download_program_folder_started_at_idx" ON "download"("program", "folder", "started_at");

-- CreateIndex
CREATE INDEX "download_pcid_idx" ON "download"("pcid");

-- CreateIndex
CREATE INDEX "download_expires_at_idx" ON "download"("expires_at");

-- AddForeignKey
ALTER TABLE "program_version" ADD CONSTRAINT "program_version_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "program"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pcid_program" ADD CONSTRAINT "pcid_program_pcid_fkey" FOREIGN KEY ("pcid") REFERENCES "pcid"("id") ON DELETE CASCADE ON UPDATE CASCADE;
