import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as core from '@actions/core'
import type { CheckAnswer } from '../verification/check-answers.js'
import type { CheckDefinition } from '../verification/checks-file.js'
import { UserError } from '../util/errors.js'
import {
  FIGURE_METHODS,
  assertSignedBy,
  manifestBeside,
  manifestFigures,
  parseManifest,
  type Manifest
} from '../report/manifest.js'
import type { ManifestProfile, RestorePointsCapability } from '../engines/types.js'
import type { ProductionSnapshot } from './pipeline.js'
import type { Settings } from './settings.js'

/**
 * A stored backup's evidence: its manifest (manifest.ts), found and trusted as far as the inputs
 * ask, and production's figures at the backup's snapshot in the shape a fresh run compares with
 * (pipeline.ts ProductionSnapshot), with nothing to ask production: the comparison code is the
 * fresh run's, with the manifest as production's side.
 */

export interface Evidence {
  manifest: Manifest
  /** Where it was read, for messages. */
  source: string
}

/**
 * The backup's manifest: manifest-path, else lazarus-manifest.json beside the backup; undefined
 * when there is none (the backup is then restore-tested). With verify-key, a manifest that is
 * missing, unsigned, or not signed by that key stops the run. `profile`: the engine's
 * (RestorePointsCapability's `manifest`), which the manifest is validated against.
 */
export function readEvidence(
  settings: Pick<Settings, 'manifestPath' | 'verifyKey'>,
  backupPath: string,
  profile: ManifestProfile
): Evidence | undefined {
  const source = settings.manifestPath ?? manifestBeside(backupPath)
  const key = settings.verifyKey
  if (!fs.existsSync(source)) {
    if (settings.manifestPath) {
      throw new UserError(
        `Input 'manifest-path' is '${source}', which does not exist: point it at the backup's lazarus-manifest.json.`
      )
    }
    if (key) {
      throw new UserError(
        `Input 'verify-key' is set, but the backup '${backupPath}' has no manifest (no ${source}): fetch the manifest with the backup, ` +
          `or give its path in manifest-path.`
      )
    }
    return undefined
  }
  let text: string
  try {
    text = fs.readFileSync(source, 'utf8')
  } catch (error) {
    throw new UserError(`The manifest ${source} cannot be read (${(error as Error).message}).`)
  }
  const manifest = parseManifest(text, source, profile)
  if (key) {
    assertSignedBy(manifest, key, source)
    core.info(`The manifest's signature matches verify-key.`)
  }
  return { manifest, source }
}

/**
 * Refuses a clean room that is the production server the manifest describes: a verification
 * from a manifest never connects to production, so the separate-cluster guard has only the
 * manifest's word for production's identity (its system identifier, which a physical copy
 * shares too, and its start time, to the microsecond). Without a system identifier in the
 * manifest, a production restarted since the backup cannot be told by identity. Pure.
 */
export function assertNotManifestProduction(
  evidence: Evidence,
  cleanroom: string,
  /** The clean room's instance, as its facts name it (ServerFacts.instance: PostgreSQL's system identifier, start time, port). */
  identity: Readonly<Record<string, string>>
): void {
  const production = evidence.manifest.production
  const same =
    production.systemIdentifier && production.systemIdentifier === identity.systemIdentifier
      ? `both report system identifier ${production.systemIdentifier}`
      : production.startedAt === identity.startedAt
        ? `both servers started at ${production.startedAt}`
        : undefined
  if (same) {
    throw new UserError(
      `The clean room (${cleanroom}) is the production server the manifest ${evidence.source} describes ` +
        `(${production.server}): ${same}. Point cleanroom-url at a separate, disposable server.`
    )
  }
}

/** Figures a clean room of another major cannot reproduce, each with why: never compared silently. */
export interface NotComparable {
  figure: string
  reason: string
}

/**
 * Which of the manifest's figures a clean room of `cleanroomMajor` cannot be held to. The
 * figures are computed by the same queries on both sides; across majors they agree where the
 * catalog they read means the same (the fresh run compares production with a clean room of
 * another major the same way), except:
 * - privileges across PostgreSQL 17: MAINTAIN joined every owner's ACL there;
 * - the text of view and rule definitions across majors (deparsed by each server's ruleutils);
 * - figures of another method version (manifest.ts FIGURE_METHODS): computed by other SQL.
 * Pure.
 */
export function notComparable(manifest: Manifest, cleanroomMajor: number): NotComparable[] {
  const found: NotComparable[] = []
  const from = manifest.figures.computedOn.major
  const methods = manifest.figures.methods
  if (manifest.figures.privileges && from >= 17 !== cleanroomMajor >= 17) {
    found.push({
      figure: 'privileges',
      reason: `owners' ACLs gained MAINTAIN in PostgreSQL 17: the manifest's come from PostgreSQL ${from}, the clean room runs ${cleanroomMajor}`
    })
  }
  if (from !== cleanroomMajor) {
    found.push({
      figure: 'view definitions',
      reason:
        `each server deparses view and rule queries with its own ruleutils, whose text changed between releases ` +
        `(e.g. table qualifiers of single-table views): the manifest's come from PostgreSQL ${from}, the clean room runs ` +
        `${cleanroomMajor}; views, materialized views and rules are still compared by presence`
    })
  }
  const method = (name: keyof typeof FIGURE_METHODS, figure: string) => {
    const version = methods[name]
    if (version !== null && version !== FIGURE_METHODS[name]) {
      found.push({
        figure,
        reason: `computed by method version ${version}; this Lazarus computes version ${FIGURE_METHODS[name]}`
      })
    }
  }
  method('rowChecksum', 'row checksums')
  method('schemaFingerprint', 'schema')
  method('largeObjects', 'large objects')
  method('sequences', 'sequences')
  method('checkAnswers', 'checks')
  return found
}

/**
 * Function definitions a clean room of another major prints otherwise than the manifest holds
 * them: pg_get_functiondef and the aggregate's support functions are deparsed by each server
 * (PostgreSQL 14 prints a procedure's arguments with IN and made array_append anycompatible).
 * A fresh run settles these by recreating production's definition in the clean room
 * (cross-major.ts), from production's own catalog; a manifest holds only the printed text, so
 * each such difference is named, with the function, and not judged: never a silent pass, never
 * a false mismatch. A function on one side only still counts. Pure.
 */
export function functionsAcrossMajors<
  D extends { kind: string; name: string; production: string | null; restored: string | null }
>(differences: D[], from: number, cleanroomMajor: number): { differences: D[]; notCompared?: NotComparable } {
  if (from === cleanroomMajor) return { differences }
  const printed = differences.filter(d => d.kind === 'function' && d.production !== null && d.restored !== null)
  if (printed.length === 0) return { differences }
  const names = printed.map(d => d.name)
  const shown = names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ')
  return {
    differences: differences.filter(d => !printed.includes(d)),
    notCompared: {
      figure: 'function definitions',
      reason:
        `each server prints functions with its own deparser, which changed between releases (procedure arguments, ` +
        `polymorphic types of aggregates' support functions): ${names.length} function(s) read differently on the clean ` +
        `room's PostgreSQL ${cleanroomMajor} than in the manifest from PostgreSQL ${from}, compared by presence only: ${shown}`
    }
  }
}

/**
 * Production's side from the manifest, with the user's checks matched to the manifest's answers
 * by name and query text, its tables read back by the engine's restore points (`tableOf`).
 * Returns the checks that can be compared (in the order of the answers).
 */
export function snapshotFromManifest(
  manifest: Manifest,
  checks: CheckDefinition[],
  skip: NotComparable[],
  restorePoints: Pick<RestorePointsCapability<ProductionSnapshot['tables'][number]>, 'tableOf'>
): { snapshot: ProductionSnapshot; checks: CheckDefinition[] } {
  const figures = manifestFigures(manifest)
  const skipped = new Set(skip.map(item => item.figure))
  const byName = new Map(figures.checks.map(check => [check.name, check]))
  const compared: CheckDefinition[] = []
  const answers: CheckAnswer[] = []
  for (const check of skipped.has('checks') ? [] : checks) {
    const recorded = byName.get(check.name)
    if (!recorded || recorded.sqlSha256 !== sha256Text(check.sql)) {
      core.warning(
        `Check '${check.name}' is not compared: the manifest holds ${recorded ? 'the answer to another query of that name' : 'no answer to it'}.`,
        { title: 'Lazarus: a check could not be compared with the manifest' }
      )
      continue
    }
    compared.push(check)
    answers.push(recorded.answer)
  }
  const withoutChecksums = skipped.has('row checksums')
  const snapshot: ProductionSnapshot = {
    tables: figures.tables.map(table => restorePoints.tableOf(table)),
    figures: withoutChecksums
      ? figures.figures.map(side => ({ ...side, figures: { ...side.figures, checksum: undefined } }))
      : figures.figures,
    schema: skipped.has('schema') ? [] : figures.schema,
    largeObjects: skipped.has('large objects') ? [] : figures.largeObjects,
    sequencesBefore: figures.sequencesBefore,
    sequencesAfter: figures.sequencesAfter,
    primaryKeys: new Map(),
    ...(figures.privileges && !skipped.has('privileges') ? { privileges: figures.privileges } : {}),
    checks: answers
  }
  return { snapshot, checks: compared }
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/**
 * The roles a manifest's owners and privileges name (owners; grantees and grantors of each ACL
 * item, PUBLIC aside), so that a restore with owners finds each of them in the clean room. Pure.
 */
export function rolesNamedBy(objects: { kind: string; definition: string }[]): string[] {
  const names = new Set<string>()
  for (const object of objects) {
    if (object.kind === 'owner') {
      names.add(unquoteIdent(object.definition))
      continue
    }
    if (object.kind !== 'privileges' && object.kind !== 'default privileges') continue
    for (const item of aclItems(object.definition)) {
      if (item.grantee) names.add(item.grantee)
      if (item.grantor) names.add(item.grantor)
    }
  }
  return [...names].sort()
}

/** `"a b"=r/x alice=arw/"x"` as aclitem::text writes them, space-separated (privileges.ts aclText). */
function aclItems(text: string): { grantee: string; grantor: string }[] {
  const items: { grantee: string; grantor: string }[] = []
  const name = '("(?:[^"]|"")*"|[^=/ "]*)'
  const pattern = new RegExp(`${name}=[A-Za-z*]*/${name}`, 'g')
  for (const match of text.matchAll(pattern)) items.push({ grantee: unquoteIdent(match[1]), grantor: unquoteIdent(match[2]) })
  return items
}

function unquoteIdent(text: string): string {
  return text.startsWith('"') && text.endsWith('"') && text.length >= 2 ? text.slice(1, -1).replace(/""/g, '"') : text
}
