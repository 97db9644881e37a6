-- AlterTable
ALTER TABLE "download" ADD COLUMN     "bytes_granted" BIGINT NOT NULL DEFAULT 0;
