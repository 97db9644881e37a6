import fp from 'fastify-plugin'
import { LicenseSigner } from '../license/signing.js'

declare module 'fastify' {
  interface FastifyInstance {
    signer: LicenseSigner
  }
}

/** The LICENSE signer: keys from SIGNING_KEYS / SIGNING_KEYS_FILE, else generated into DATA_DIR. */
export default fp(async function signerPlugin (fastify) {
  const { config } = fastify
  const { signer, generated } = await LicenseSigner.load(
    { json: config.SIGNING_KEYS, file: config.SIGNING_KEYS_FILE, dataDir: config.DATA_DIR },
    { issuer: config.PUBLIC_URL ?? 'iupdate-server', ttlSeconds: config.LICENSE_TTL_DAYS * 86_400 }
  )
  if (generated) fastify.log.warn({ kid: signer.kid, dataDir: config.DATA_DIR }, 'generated a new license signing key; back up DATA_DIR/signing-keys.json')
  else fastify.log.info({ kid: signer.kid, keys: signer.jwks().keys.length }, 'license signing keys loaded')
  fastify.decorate('signer', signer)
}, { name: 'signer', dependencies: ['config'] })
