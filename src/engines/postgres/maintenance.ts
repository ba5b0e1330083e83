import { withDatabase, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { quoteIdent, quoteLiteral } from './figure-queries.js'

const INSUFFICIENT_PRIVILEGE = '42501'
const OBJECT_IN_USE = '55006'
/** Plain DROP DATABASE already waits 5 s for other sessions; a few more tries cover a slow exit. */
const DROP_ATTEMPTS = 4

/**
 * The clean room's maintenance handle: the only session that may create, mark or drop a
 * database. Production's sessions are plain DatabaseSessions, which have no such method, so a
 * drop aimed at production does not compile.
 */
export class MaintenanceSession extends DatabaseSession {
  /** Opens a maintenance session on the clean room (its maintenance database, as the URI names it). */
  static async openMaintenance(target: ConnectionTarget): Promise<MaintenanceSession> {
    return DatabaseSession.connect(target, 'cleanroom', (...session) => new MaintenanceSession(...session))
  }

  /** Whether the connected role may create databases. */
  async canCreateDatabases(): Promise<{ role: string; allowed: boolean }> {
    const [row] = await this.query<{ role: string; allowed: boolean }>(
      'SELECT current_user AS role, (rolcreatedb OR rolsuper) AS allowed FROM pg_catalog.pg_roles WHERE rolname = current_user'
    )
    return row
  }

  /** The comment on a database, or undefined. */
  async databaseComment(name: string): Promise<string | undefined> {
    const rows = await this.query<{ comment: string | null }>(
      `SELECT pg_catalog.shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = $1`,
      [name]
    )
    return rows[0]?.comment ?? undefined
  }

  async commentOnDatabase(name: string, comment: string): Promise<void> {
    await this.run(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(comment)}`)
  }

  /** Creates an empty database from template0, so nothing from the clean room's template1 leaks in. */
  async createScratchDatabase(
    name: string,
    encoding: string,
    collate: string,
    ctype: string
  ): Promise<{ localeFallback: boolean }> {
    const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(encoding)}`
    try {
      await this.run(`${base} LC_COLLATE ${quoteLiteral(collate)} LC_CTYPE ${quoteLiteral(ctype)}`)
      return { localeFallback: false }
    } catch (error) {
      // The clean room may lack production's locale; the data restores the same under C.
      if ((error as { code?: string }).code !== '22023') throw error
      await this.run(`${base} LC_COLLATE 'C' LC_CTYPE 'C'`)
      return { localeFallback: true }
    }
  }

  /**
   * Drops a database. WITH (FORCE) (PostgreSQL 13+) ends sessions a killed restore left behind,
   * but a role that is not a superuser may not end sessions of other roles, and an autovacuum
   * worker that just started on the fresh database is one: then a plain DROP, which stops
   * autovacuum itself, retried while the last sessions go away.
   */
  async dropDatabase(name: string): Promise<void> {
    const drop = `DROP DATABASE IF EXISTS ${quoteIdent(name)}`
    if ((await this.serverFacts()).major >= 13) {
      try {
        await this.run(`${drop} WITH (FORCE)`)
        return
      } catch (error) {
        if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(drop)
        return
      } catch (error) {
        if ((error as { code?: string }).code !== OBJECT_IN_USE || attempt >= DROP_ATTEMPTS) throw error
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    }
  }

  /** Whether a database of this name exists on the clean room. */
  async databaseExists(name: string): Promise<boolean> {
    const rows = await this.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])
    return rows.length > 0
  }

  /**
   * A production subscription restored into a scratch database (pg_dump writes it with `connect =
   * false`, so it never connected) keeps DROP DATABASE from running, and DROP SUBSCRIPTION would
   * connect to production's publisher to drop the slot it names. So each one is disabled, detached
   * from its slot (slot_name = NONE: nothing is dropped on the publisher) and dropped, from inside
   * the scratch database. Any role may read a subscription's name and database.
   */
  async dropSubscriptions(database: string): Promise<void> {
    const subscriptions = await this.query<{ name: string }>(
      `SELECT s.subname AS name FROM pg_catalog.pg_subscription s JOIN pg_catalog.pg_database d ON d.oid = s.subdbid
       WHERE d.datname = $1`,
      [database]
    )
    if (subscriptions.length === 0) return
    const session = await DatabaseSession.open(withDatabase(this.target, database), 'cleanroom')
    try {
      for (const { name } of subscriptions) {
        const subscription = quoteIdent(name)
        await session.query(`ALTER SUBSCRIPTION ${subscription} DISABLE`)
        await session.query(`ALTER SUBSCRIPTION ${subscription} SET (slot_name = NONE)`)
        await session.query(`DROP SUBSCRIPTION ${subscription}`)
      }
    } finally {
      await session.close()
    }
  }
}
