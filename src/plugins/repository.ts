import fp from 'fastify-plugin'
import { resolve } from 'node:path'
import { clearStaging } from '../storage/publish.js'
import { Repository } from '../storage/repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    repository: Repository
  }
}

/** The ftp/ repository index, scanned before the server answers and watched while it runs. */
export default fp(async function repositoryPlugin (fastify) {
  const { config } = fastify
  const repository = new Repository({
    root: resolve(config.FTP_ROOT),
    log: fastify.log.child({ component: 'repository' }),
    settleMs: config.REPO_SETTLE_MS,
    rescanMs: config.REPO_RESCAN_SECONDS * 1000,
    watch: config.REPO_WATCH
  })
  // An upload cut off by a crash left its staging folder: nothing of it was published.
  await clearStaging(resolve(config.FTP_ROOT))
  await repository.start()
  fastify.log.info({ root: repository.root, programs: repository.programNames().length }, 'repository indexed')
  fastify.decorate('repository', repository)
  fastify.addHook('onClose', async () => { await repository.stop() })
}, { name: 'repository', dependencies: ['config'] })
