import type { DrillCopiesCapability } from '../types.js'
import type { ConnectionTarget } from './connection.js'
import { decodeDumpText } from './dump-encoding.js'
import type { PostgresRestoreOptions } from './stream.js'
import { DRILL_OPERATORS } from './drill-plan.js'

/**
 * What only PostgreSQL does for each of the drill's copies (the engine's drillCopies capability,
 * engines/types.ts), as the one drill of every engine (run/drill-copies.ts) asks for it: the
 * rewriters' evidence decoded from the dump's bytes, the options of the copy's restore (the
 * location check psql runs first, as the run wrote it, the dump's encoding, the replay of owners
 * and privileges).
 */

/** The operators that corrupt owners and privileges: nothing to corrupt when a run does not restore them. */
const PRIVILEGE_OPERATORS: readonly (typeof DRILL_OPERATORS)[number][] = ['drop-grant', 'change-owner']

export const postgresDrillCopies: DrillCopiesCapability<ConnectionTarget, PostgresRestoreOptions> = {
  privilegeOperators: PRIVILEGE_OPERATORS,
  // The rewriters read the dump as bytes, one latin1 character each (dump-encoding.ts): their
  // evidence is decoded once, in the dump's encoding (production's database's).
  evidence: (text, defaults) => decodeDumpText(text, defaults.characterSet),
  restoreOptions({ target, checkFile, defaults, limits, replay }) {
    // psql runs the location check first (Engine.locationCheck): never a restore without it.
    if (!checkFile) throw new Error("PostgreSQL's restore of a drill copy needs its location check")
    return {
      checkFile,
      encoding: defaults.characterSet,
      limits,
      // An unprivileged restore of the copy leaves its ownership and privilege statements to a second
      // pass, replayed as the clean-room role (in the scratch database, not as the restore role).
      ...(replay ? { replay: { plan: replay, as: target } } : {})
    }
  }
}
