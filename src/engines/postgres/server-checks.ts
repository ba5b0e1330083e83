import type { ServerChecksCapability } from '../types.js'
import type { ConnectionTarget } from './connection.js'
import { ownSession } from './database.js'
import { compareExtensions, missingExtensionsError, readAvailableExtensions, readInstalledExtensions } from './extensions.js'
import type { TableRef } from './figure-queries.js'
import { findProductionSkew } from './production-skew.js'
import { explainSkewFailure, productionSkewMessage } from './skew-catalogue.js'

/**
 * PostgreSQL's checks of the two servers before anything is dumped (engines/types.ts
 * ServerChecksCapability), as data the run raises or records: the oldest major Lazarus reads, the
 * extensions production uses against those the clean room ships (extensions.ts), what production
 * holds that the clean room's major rejects (production-skew.ts, skew-catalogue.ts), and, once a
 * restore failed, whether version skew explains it.
 */

/** The oldest server Lazarus's catalog queries understand. */
export const OLDEST_SUPPORTED_MAJOR = 12

export const serverChecks: ServerChecksCapability<TableRef, ConnectionTarget> = {
  unsupported(side, facts) {
    // The schema fingerprint reads columns (generated columns, partitions) that PostgreSQL 12 introduced.
    if (facts.major >= OLDEST_SUPPORTED_MAJOR) return undefined
    return `The ${side} runs PostgreSQL ${facts.version}; Lazarus supports PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or newer.`
  },

  async environment(production, cleanroom, cleanroomTarget) {
    const [installed, available] = await Promise.all([
      readInstalledExtensions(ownSession(production)),
      readAvailableExtensions(ownSession(cleanroom))
    ])
    const { missing, differences } = compareExtensions(installed, available)
    return { ...(missing.length > 0 ? { missing: missingExtensionsError(missing, cleanroomTarget).message } : {}), differences }
  },

  async productionSkew(session, cleanroomMajor, privileges) {
    const production = ownSession(session)
    const majors = { production: (await production.serverFacts()).major, cleanroom: cleanroomMajor }
    // GRANT and REVOKE are checked apart: they are in the dump only when owners and privileges are restored.
    const findings = await findProductionSkew(production, majors, check => (check.privileges === true) === privileges)
    return findings.length > 0 ? productionSkewMessage(findings, cleanroomMajor) : undefined
  },

  explainRestoreFailure: ({ error, cleanroomMajor, productionMajor, dumpMajor }) =>
    explainSkewFailure({ error, cleanroomMajor, productionMajor, pgDumpMajor: dumpMajor })
}
