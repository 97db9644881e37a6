-- CreateTable
CREATE TABLE "client_message" (
    "id" UUID NOT NULL,
    "pcid" TEXT NOT NULL,
    "program" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "charset" TEXT NOT NULL,
    "client_msg_id" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "client_attachment" (
    "id" SERIAL NOT NULL,
    "message_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "client_attachment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "question" (
    "id" SERIAL NOT NULL,
    "program" TEXT,
    "version" TEXT,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "question_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "question_delivery" (
    "id" UUID NOT NULL,
    "question_id" INTEGER NOT NULL,
    "pcid" TEXT NOT NULL,
    "delivered_at" TIMESTAMPTZ(3),
    "answered_at" TIMESTAMPTZ(3),
    "answer" TEXT,

    CONSTRAINT "question_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "client_message_received_at_idx" ON "client_message"("received_at");

-- CreateIndex
CREATE UNIQUE INDEX "client_message_pcid_client_msg_id_key" ON "client_message"("pcid", "client_msg_id");

-- CreateIndex
CREATE UNIQUE INDEX "client_attachment_message_id_name_key" ON "client_attachment"("message_id", "name");

-- CreateIndex
CREATE INDEX "question_delivery_pcid_delivered_at_idx" ON "question_delivery"("pcid", "delivered_at");

-- CreateIndex
CREATE UNIQUE INDEX "question_delivery_question_id_pcid_key" ON "question_delivery"("question_id", "pcid");

-- AddForeignKey
ALTER TABLE "client_message" ADD CONSTRAINT "client_message_pcid_fkey" FOREIGN KEY ("pcid") REFERENCES "pcid"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "client_attachment" ADD CONSTRAINT "client_attachment_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "client_message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "question_delivery" ADD CONSTRAINT "question_delivery_question_id_fkey" FOREIGN KEY ("question_id") REFERENCES "question"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "question_delivery" ADD CONSTRAINT "question_delivery_pcid_fkey" FOREIGN KEY ("pcid") REFERENCES "pcid"("id") ON DELETE CASCADE ON UPDATE CASCADE;
