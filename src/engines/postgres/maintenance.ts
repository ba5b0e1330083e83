import type { DatabaseDefaults, ScratchCreated, SeamMaintenance } from '../types.js'
import { ScratchNameTaken } from '../../util/errors.js'
import { describe, withDatabase, type ConnectionTarget } from './connection.js'
import { DatabaseSession } from './database.js'
import { quoteIdent, quoteLiteral, type TableRef } from './figure-queries.js'

const INSUFFICIENT_PRIVILEGE = '42501'
/** CREATE DATABASE found the name taken. */
const DUPLICATE_DATABASE = '42P04'
/**
 * CREATE DATABASE refuses production's locale on this clean room: a locale name the server's
 * operating system does not have is "invalid locale name" (wrong_object_type, in every major);
 * one it has, but not for the encoding, is "encoding ... does not match locale" (invalid_parameter_value).
 */
const LOCALE_REFUSED = new Set(['42809', '22023'])
const OBJECT_IN_USE = '55006'
/** Plain DROP DATABASE already waits 5 s for other sessions; a few more tries cover a slow exit. */
const DROP_ATTEMPTS = 4

/**
 * The clean room's maintenance handle: the only session that may create, mark or drop a
 * database. Production's sessions are plain DatabaseSessions, which have no such method, so a
 * drop aimed at production does not compile. It is PostgreSQL's SeamMaintenance (engines/types.ts):
 * the clean room (run/cleanroom.ts) creates, marks and drops scratch databases through it, and
 * reads it as a seam session like any other DatabaseSession.
 */
export class MaintenanceSession extends DatabaseSession implements SeamMaintenance<TableRef> {
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

  /** The mark on a database (its comment), or undefined (none, or no such database). */
  async scratchMarker(name: string): Promise<string | undefined> {
    const rows = await this.query<{ comment: string | null }>(
      `SELECT pg_catalog.shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = $1`,
      [name]
    )
    return rows[0]?.comment ?? undefined
  }

  /** Marks a database as Lazarus's with a comment, which no read of a restored copy shows. */
  async markScratchDatabase(name: string, marker: string): Promise<void> {
    await this.run(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(marker)}`)
  }

  /**
   * Creates an empty database from template0, so nothing from the clean room's template1 leaks
   * in, in production's encoding, LC_COLLATE and LC_CTYPE (the collation's when none is given).
   * A name taken already (someone else's database) is a ScratchNameTaken: never this run's to drop.
   */
  async createScratchDatabase(name: string, defaults: DatabaseDefaults): Promise<ScratchCreated> {
    const collate = defaults.collation
    const ctype = defaults.characterType ?? collate
    const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(defaults.characterSet)}`
    try {
      try {
        await this.run(`${base} LC_COLLATE ${quoteLiteral(collate)} LC_CTYPE ${quoteLiteral(ctype)}`)
        return { collationFallback: false }
      } catch (error) {
        // The clean room may lack production's locale; the data restores the same under C. Any
        // other refusal comes back from the second CREATE DATABASE as it is.
        if (!LOCALE_REFUSED.has((error as { code?: string }).code ?? '')) throw error
        await this.run(`${base} LC_COLLATE 'C' LC_CTYPE 'C'`)
        return { collationFallback: true, fallback: { lacking: `locale '${collate}'`, using: 'C' } }
      }
    } catch (error) {
      if ((error as { code?: string }).code !== DUPLICATE_DATABASE) throw error
      throw new ScratchNameTaken(
        `The clean room (${describe(this.target)}) already has a database named ${name}, which this run did not create: ` +
          `Lazarus leaves it alone and stops. Run again (every run names its scratch databases afresh).`
      )
    }
  }

  /**
   * Drops a database, and first the subscriptions a restore put in it (dropSubscriptions).
   * WITH (FORCE) (PostgreSQL 13+) ends sessions a killed restore left behind,
   * but a role that is not a superuser may not end sessions of other roles, and an autovacuum
   * worker that just started on the fresh database is one: then a plain DROP, which stops
   * autovacuum itself, retried while the last sessions go away.
   */
  async dropDatabase(name: string): Promise<void> {
    await this.dropSubscriptions(name)
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
  private async dropSubscriptions(database: string): Promise<void> {
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
