-- AlterTable
ALTER TABLE "seat" ADD COLUMN     "license_token" TEXT;
