import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { releaseOf, type ClientTarget, type ServerRelease } from '../../src/engines/mysql/tools.js'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from './mariadb.js'

/**
 * What the MySQL client-program integration tests (stream, runs-by-itself, path-options) start
 * from: the shared MariaDB pair, each server's release as the engine reads it, and the clean
 * room's collations by their full names (MariaDB 10.10+ lists its UCA 14 collations without their
 * character set in COLLATIONS).
 */
export interface MariadbStreamPair {
  production: MariadbServer
  cleanroom: MariadbServer
  productionRelease: ServerRelease
  cleanroomRelease: ServerRelease
  cleanroomCollations: string[]
}

export async function openMariadbStreamPair(): Promise<MariadbStreamPair> {
  const [production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  const release = async (server: MariadbServer) =>
    releaseOf({ product: 'MariaDB', version: (await server.sql('SELECT VERSION()')).split('\n')[1] })
  const cleanroomCollations = (
    await cleanroom.sql('SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY')
  )
    .split('\n')
    .slice(1)
    .filter(Boolean)
  return {
    production,
    cleanroom,
    productionRelease: await release(production),
    cleanroomRelease: await release(cleanroom),
    cleanroomCollations
  }
}

/** A database on a test server as the client programs reach it (root, no TLS). */
export function clientTarget(server: MariadbServer, database: string, inputName: string): ClientTarget {
  return {
    inputName,
    host: server.host,
    port: server.port,
    user: 'root',
    password: server.password,
    database,
    tls: { mode: 'disable' }
  }
}

/** Temporary directories named `<prefix>*`, all removed by removeAll() (a test file's after hook). */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const made: string[] = []
  return {
    make: () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
      made.push(dir)
      return dir
    },
    removeAll: () => {
      for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
