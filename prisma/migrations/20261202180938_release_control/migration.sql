-- CreateEnum
CREATE TYPE "release_channel" AS ENUM ('stable', 'beta');

-- AlterTable
ALTER TABLE "pcid" ADD COLUMN     "channel" "release_channel" NOT NULL DEFAULT 'stable';

-- AlterTable
ALTER TABLE "license" ADD COLUMN     "channel" "release_channel" NOT NULL DEFAULT 'stable',
ADD COLUMN     "pin" TEXT;

-- AlterTable
ALTER TABLE "program_version" ADD COLUMN     "auto_halt_max_failure_rate" DOUBLE PRECISION,
ADD COLUMN     "auto_halt_min_downloads" INTEGER,
ADD COLUMN     "channel" "release_channel" NOT NULL DEFAULT 'stable',
ADD COLUMN     "halt_reason" TEXT,
ADD COLUMN     "halted_at" TIMESTAMPTZ(3),
ADD COLUMN     "min_from_version" TEXT,
ADD COLUMN     "required_step" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "rollout" DOUBLE PRECISION NOT NULL DEFAULT 100,
ADD COLUMN     "rollout_schedule" JSONB,
ADD COLUMN     "rollout_started_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "pcid_program" ADD COLUMN     "offered" TEXT;
