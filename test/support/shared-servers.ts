/**
 * The two PostgreSQL servers shared by all test files of one `npm test` run.
 *
 * test/run-tests.ts starts them once and passes their superuser URIs (and data dirs) to the
 * test processes through LAZARUS_TEST_{PRODUCTION,CLEANROOM}_{URL,DATADIR}. Test files must
 * not stop them or touch each other's data: create your own databases with uniqueName().
 *
 * When a test file is run directly (no env vars), private clusters are started instead and
 * stopped when the process exits.
 */
import { randomBytes } from 'node:crypto'
import { attachCluster, startCluster, type Cluster } from './cluster.js'

export type { Cluster } from './cluster.js'

export const PRODUCTION_URL_ENV = 'LAZARUS_TEST_PRODUCTION_URL'
export const CLEANROOM_URL_ENV = 'LAZARUS_TEST_CLEANROOM_URL'
export const PRODUCTION_DATADIR_ENV = 'LAZARUS_TEST_PRODUCTION_DATADIR'
export const CLEANROOM_DATADIR_ENV = 'LAZARUS_TEST_CLEANROOM_DATADIR'

/**
 * Settings of the shared servers beyond cluster.ts's. pg_dump locks every table it dumps in one
 * transaction: production may dump the many-tables test's 10,000 tables, as any server whose
 * schema is that large is configured to. The clean room keeps the default, so that the test
 * proves a restore never needs more locks than a plain `pg_dump | psql`.
 */
export const SERVER_SETTINGS: Record<string, string[]> = {
  production: ['max_locks_per_transaction = 256'],
  cleanroom: []
}

const cache = new Map<string, Promise<Cluster>>()

function fromEnv(name: string, urlVar: string, dataDirVar: string): Promise<Cluster> {
  let p = cache.get(name)
  if (!p) {
    const raw = process.env[urlVar]
    if (raw) {
      const u = new URL(raw)
      p = Promise.resolve(
        attachCluster({
          name,
          port: Number(u.port),
          password: decodeURIComponent(u.password),
          dataDir: process.env[dataDirVar] ?? ''
        })
      )
    } else {
      // Private cluster; stopped explicitly via stop() or by cluster.ts's exit hook.
      p = startCluster(name, { settings: SERVER_SETTINGS[name] })
    }
    p.catch(() => cache.delete(name))
    cache.set(name, p)
  }
  return p
}

/** The shared "production" server (superuser postgres on 127.0.0.1). stop() is a no-op when shared. */
export function productionCluster(): Promise<Cluster> {
  return fromEnv('production', PRODUCTION_URL_ENV, PRODUCTION_DATADIR_ENV)
}

/** The shared "clean room" server (superuser postgres on 127.0.0.1). stop() is a no-op when shared. */
export function cleanroomCluster(): Promise<Cluster> {
  return fromEnv('cleanroom', CLEANROOM_URL_ENV, CLEANROOM_DATADIR_ENV)
}

let counter = 0
/**
 * A database name unique across all concurrently running test files: lower-case
 * `<prefix>_<pid>_<n>_<random>`, at most 63 bytes (PostgreSQL's identifier limit).
 */
export function uniqueName(prefix = 'db'): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 30) || 'db'
  return `${clean}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`
}
