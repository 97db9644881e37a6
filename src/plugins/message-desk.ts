import fp from 'fastify-plugin'
import { Questions } from '../messages/questions.js'
import { ReceivedMessages } from '../messages/received.js'

declare module 'fastify' {
  interface FastifyInstance {
    questions: Questions
    receivedMessages: ReceivedMessages
  }
}

/** The vendor's side of messages: questions to PCs, and what the PCs sent. */
export default fp(async function messageDeskPlugin (fastify) {
  const { prisma, contacts, inbox, auditLog: audit } = fastify
  fastify.decorate('questions', new Questions(prisma, { audit, flush: async () => { await contacts.flush() } }))
  fastify.decorate('receivedMessages', new ReceivedMessages(prisma, (id, name) => inbox.attachmentPath(id, name)))
}, { name: 'message-desk', dependencies: ['prisma', 'services', 'admin'] })
