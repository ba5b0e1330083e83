import type { DatabaseDefaults, SeamMaintenance } from '../types.js'
import { ScratchNameTaken } from '../../util/errors.js'
import { describe, type MysqlTarget } from './connection.js'
import { MysqlSession } from './database.js'
import { qualified, quoteIdent, quoteLiteral, type MysqlTable } from './figure-queries.js'
import { grantedRoles, mayCreateAndDrop } from './grants.js'

/** mysqld_error.h: CREATE DATABASE found the name taken; an unknown collation; an unknown character set. */
const DB_CREATE_EXISTS = 1007
const UNKNOWN_COLLATION = 1273
const UNKNOWN_CHARACTER_SET = 1115

/**
 * The clean room's maintenance handle: the only session that may create, mark or drop a
 * database. Production's sessions are plain MysqlSessions, which have no such method.
 *
 * The mark: MariaDB 10.5+ keeps a comment on the database (information_schema.SCHEMATA
 * SCHEMA_COMMENT). MySQL has no database comment, so there the mark is a table inside the
 * scratch database named as the database itself (lazarus_<run id>_..., a name no production
 * table has), with the mark as its comment; the sessions of this engine leave that table out of
 * every figure, fingerprint and counter, so it never shows in a comparison.
 */
export class MysqlMaintenance extends MysqlSession implements SeamMaintenance<MysqlTable> {
  static async openMaintenance(target: MysqlTarget): Promise<MysqlMaintenance> {
    return MysqlSession.connect(target, 'cleanroom', (...session) => new MysqlMaintenance(...session))
  }

  /**
   * Whether the account may create and drop databases: globally, or on database names that
   * lazarus_... matches (a grant on `lazarus\_%`.*), granted to it or to its active roles
   * (grants.ts says where each flavour lists those). A role granted but not active when Lazarus
   * logs in gives nothing; the hint says how to make it a default role.
   */
  async canCreateDatabases(): Promise<{ role: string; allowed: boolean; hint?: string }> {
    const [{ user }] = await this.query<{ user: string }>('SELECT CURRENT_USER() AS user')
    const lines = await this.grantLines('SHOW GRANTS')
    if (this.flavour === 'mariadb') {
      // Each enabled role's grants (the current role and those it inherits), in case SHOW GRANTS lists less (grants.ts).
      const enabled = await this.query<{ role: string | null }>(
        'SELECT ROLE_NAME AS role FROM information_schema.ENABLED_ROLES'
      ).catch(() => [])
      for (const { role } of enabled)
        if (role) lines.push(...(await this.grantLines(`SHOW GRANTS FOR ${quoteIdent(role)}`).catch(() => [])))
      // MariaDB 10.11+: what is granted TO PUBLIC every account has (older servers do not know the name).
      lines.push(...(await this.grantLines('SHOW GRANTS FOR PUBLIC').catch(() => [])))
    }
    const allowed = mayCreateAndDrop(lines, 'lazarus_0_probe')
    const roles = grantedRoles(lines)
    const hint =
      allowed || roles.length === 0
        ? undefined
        : `its role(s) ${roles.join(', ')} give nothing unless active when it logs in: make them default roles (` +
          (this.flavour === 'mysql' ? `SET DEFAULT ROLE ALL TO ${user}` : `SET DEFAULT ROLE <role> FOR ${user}`) +
          ')'
    return { role: user, allowed, ...(hint ? { hint } : {}) }
  }

  /** The lines of a SHOW GRANTS statement (each row's one column). */
  private async grantLines(sql: string): Promise<string[]> {
    const rows = await this.query<Record<string, string>>(sql)
    return rows.map(row => String(Object.values(row)[0] ?? ''))
  }

  /**
   * Creates an empty database with production's character set and collation. Where the clean
   * room lacks the collation (or the character set), the character set's (or the server's)
   * default is used and `collationFallback` says so. A database of that name that exists already
   * is not this run's: a ScratchNameTaken, and it is neither marked nor dropped.
   */
  async createScratchDatabase(name: string, defaults: DatabaseDefaults): Promise<{ collationFallback: boolean }> {
    const create = `CREATE DATABASE ${quoteIdent(name)}`
    const attempts: [string, boolean][] = [
      [`${create} CHARACTER SET ${quoteIdent(defaults.characterSet)} COLLATE ${quoteIdent(defaults.collation)}`, false],
      [`${create} CHARACTER SET ${quoteIdent(defaults.characterSet)}`, true],
      [create, true]
    ]
    for (const [sql, fallback] of attempts) {
      try {
        await this.query(sql)
        return { collationFallback: fallback }
      } catch (error) {
        const errno = (error as { errno?: number }).errno
        if (errno === DB_CREATE_EXISTS) {
          throw new ScratchNameTaken(
            `The clean room (${describe(this.target)}) already has a database named ${name}, which this run did not ` +
              `create: Lazarus leaves it alone and stops. Run again (every run names its scratch databases afresh).`
          )
        }
        if (errno !== UNKNOWN_COLLATION && errno !== UNKNOWN_CHARACTER_SET) throw error
      }
    }
    throw new Error('unreachable')
  }

  async markScratchDatabase(name: string, marker: string): Promise<void> {
    if (await this.hasDatabaseComments()) {
      await this.query(`ALTER DATABASE ${quoteIdent(name)} COMMENT = ${quoteLiteral(marker)}`)
    } else {
      await this.query(`CREATE TABLE ${qualified(name, name)} (lazarus_scratch_marker INT) COMMENT = ${quoteLiteral(marker)}`)
    }
  }

  /** The mark on a database (its comment, or its marker table's), or undefined. */
  async scratchMarker(name: string): Promise<string | undefined> {
    if (await this.hasDatabaseComments()) {
      const [row] = await this.query<{ comment: string | null }>(
        'SELECT SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [name]
      )
      if (row?.comment) return row.comment
    }
    const [table] = await this.query<{ comment: string | null }>(
      `SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
      [name, name]
    )
    return table?.comment || undefined
  }

  async databaseExists(name: string): Promise<boolean> {
    const rows = await this.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])
    return rows.length > 0
  }

  async dropDatabase(name: string): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`)
  }

  /** MariaDB 10.5+ has database comments; MySQL has none. */
  private async hasDatabaseComments(): Promise<boolean> {
    const rows = await this.query(
      `SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'SCHEMATA'
       AND COLUMN_NAME = 'SCHEMA_COMMENT'`
    )
    return rows.length > 0
  }
}
