import { readFileSync } from 'node:fs'
import path from 'node:path'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from './shared-servers.js'
import { repoRoot } from './run-action.js'

/** A fresh copy of the shop fixture on the shared production server, and how to point Lazarus at it. */
export interface Shop {
  production: Cluster
  cleanroom: Cluster
  /** The database's name on the production server. */
  database: string
  /** Inputs for a run against `database` (default: the shop), passwords in their own inputs, plus `extra`. */
  inputs(extra?: Record<string, string>, database?: string): Record<string, string>
}

export const SHOP_SQL = readFileSync(path.join(repoRoot, 'test/fixtures/shop.sql'), 'utf8')

/** Creates `<prefix>_…` from test/fixtures/shop.sql (and `extraSql` after it) on the shared production server. */
export async function createShop(prefix = 'shop', extraSql = ''): Promise<Shop> {
  const [production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  const database = uniqueName(prefix)
  await production.createDatabase(database, SHOP_SQL + extraSql)
  return {
    production,
    cleanroom,
    database,
    inputs: (extra = {}, target = database) => ({
      'production-url': production.url(target, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password,
      ...extra
    })
  }
}
