import * as fs from 'node:fs'
import { pipeline } from 'node:stream/promises'
import * as core from '@actions/core'
import type { ConnectionTarget } from './connection.js'
import { dumpLexer } from './dump-lexer.js'
import { quoteLiteral } from './figure-queries.js'
import { restoreDump, type ClientTools, type FaultLimits, type RestoreOutcome } from './pg-tools.js'
import {
  MAX_STATEMENT_LINES,
  decodeRouted,
  encodeRouted,
  parsePrivilegedStatement,
  privilegedReadOnPattern,
  touchesServerObjects,
  withStandIns
} from './privileged-statements.js'
import { listNames } from './privileges.js'
import { namingRolesPattern } from './sanitize-rules.js'
import type { PrivilegeReplay } from '../types.js'

/**
 * The second pass of an unprivileged restore: pg_dump's own ownership and privilege statements,
 * routed out of the restore by the sanitizer (or, for a drill's copy, by splitPrivileged), are
 * replayed by the clean-room role once the restore role has finished. Production's code never
 * runs in this pass: the statements only write the catalog (privileged-statements.ts), the
 * scratch database is checked to hold no event trigger first, and every role they name is one
 * Lazarus created without any right (or a stand-in for a role the clean room already had).
 */

/** The replay script and what went into it. */
export interface ReplayScript {
  /** Statements replayed. */
  statements: number
  /** Statements left out: grants on the clean-room server's own objects (SERVER_SCHEMAS), as written. */
  serverObjects: string[]
}

/**
 * Writes the script the clean-room role replays from the routed statements: each one read again
 * by the grammar (a line the grammar does not take stops the run: the sanitizer and this module
 * disagree, a bug), roles with stand-ins replaced, grants on the server's own objects left out.
 * Read and written a line at a time; bytes pass through latin1, so names keep the dump's encoding,
 * which the script declares (`encoding`, production's database encoding, as pg_dump's header does).
 */
export async function writeReplayScript(
  routedFiles: string | string[],
  scriptFile: string,
  standIns: ReadonlyMap<string, string>,
  encoding: string,
  restoreRole?: string,
  inStream = false
): Promise<ReplayScript> {
  const result: ReplayScript = { statements: 0, serverObjects: [] }
  const header =
    `SET client_encoding = ${quoteLiteral(encoding)};\n` +
    `SELECT pg_catalog.set_config('search_path', '', false);\n` +
    (inStream ? '' : beforeReplaySql(restoreRole))
  const out = fs.openSync(scriptFile, 'w', 0o600)
  try {
    fs.writeSync(out, header)
    for (const routedFile of typeof routedFiles === 'string' ? [routedFiles] : routedFiles) {
      if (!fs.existsSync(routedFile)) continue
      await forEachLine(routedFile, encoded => {
        if (encoded === '') return
        // A statement over several lines (a name holding a line break) was routed on one (encodeRouted).
        const line = decodeRouted(encoded)
        const statement = parsePrivilegedStatement(line)
        if (!statement)
          throw new Error(`The sanitizer routed a line the privilege grammar does not take: ${encoded.slice(0, 80)}`)
        if (touchesServerObjects(statement)) {
          result.serverObjects.push(encoded)
          return
        }
        fs.writeSync(out, Buffer.from(withStandIns(statement, standIns) + '\n', 'latin1'))
        result.statements++
      })
    }
    return result
  } finally {
    fs.closeSync(out)
  }
}

/**
 * Splits a plain dump (a drill's sanitized copy) as the sanitizer does in the stream: each line
 * that starts and ends at the top level and is one of the privilege grammar's forms (naming one
 * of `onlyNaming`, when given, as the sanitizer's privilegedRoles) goes to `routedFile`, every
 * other line to `outputFile`. Streamed; the routed lines are few and short.
 */
export async function splitPrivileged(
  inputFile: string,
  outputFile: string,
  routedFile: string,
  onlyNaming?: readonly string[]
): Promise<void> {
  const lexer = dumpLexer()
  const naming = onlyNaming && new RegExp(namingRolesPattern([...onlyNaming]))
  const routes = (line: string) => (!naming || naming.test(line)) && parsePrivilegedStatement(line) !== undefined
  const routed = fs.openSync(routedFile, 'w', 0o600)
  try {
    await pipeline(
      fs.createReadStream(inputFile),
      async function* (chunks: AsyncIterable<Buffer>) {
        let partial = ''
        // The lines of a privileged statement read on through a quoted name holding a line break.
        let pending: string[] = []
        let pendingEnds = false
        const route = (text: string) => fs.writeSync(routed, Buffer.from(encodeRouted(text) + '\n', 'latin1'))
        const take = (lines: string[]): string[] => {
          const kept: string[] = []
          const settle = () => {
            const text = pending.join('\n')
            if (pendingEnds && routes(text)) route(text)
            else kept.push(...pending)
            pending = []
          }
          for (const line of lines) {
            const facts = lexer(line)
            if (pending.length > 0) {
              pending.push(line)
              pendingEnds = facts.endsStatement
              if (!READ_ON.test(pending.join('\n')) || pending.length > MAX_STATEMENT_LINES) settle()
            } else if (facts.startsStatement && !facts.data && READ_ON.test(line)) {
              pending = [line]
              pendingEnds = false
            } else if (facts.startsStatement && facts.endsStatement && !facts.data && routes(line)) {
              route(line)
            } else {
              kept.push(line)
            }
          }
          return kept
        }
        for await (const chunk of chunks) {
          const lines = (partial + chunk.toString('latin1')).split('\n')
          partial = lines.pop() ?? ''
          const kept = take(lines)
          if (kept.length > 0) yield Buffer.from(kept.join('\n') + '\n', 'latin1')
        }
        const last = partial ? take([partial]) : []
        // A dump ending inside a statement read on: its lines stay, as the sanitizer leaves them.
        last.push(...pending)
        if (last.length > 0) yield Buffer.from(last.join('\n'), 'latin1')
      },
      fs.createWriteStream(outputFile, { mode: 0o600 })
    )
  } finally {
    fs.closeSync(routed)
  }
}

const READ_ON = new RegExp(`^${privilegedReadOnPattern('js')}`)

async function forEachLine(file: string, each: (line: string) => void): Promise<void> {
  let partial = ''
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    const lines = (partial + chunk.toString('latin1')).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) each(line)
  }
  if (partial) each(partial)
}

/**
 * The SQL the clean-room role runs in the scratch database before the replay: it refuses a
 * database holding an event trigger (which would run production's code on the replay's GRANTs,
 * as the clean-room role; an unprivileged restore cannot create one, this makes sure), and takes
 * back what admitted the restore role to the public schema, so that schema's ACL is the one the
 * dump sets.
 */
export function beforeReplaySql(restoreRole: string | undefined): string {
  const revoke = restoreRole
    ? `  IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') THEN
    EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA public FROM %I', ${quoteLiteral(restoreRole)});
  END IF;\n`
    : ''
  return `DO $lazarus$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger) THEN
    RAISE EXCEPTION 'the restored copy holds an event trigger: owners and privileges are not replayed';
  END IF;
${revoke}END $lazarus$;\n`
}

/** What a run needs to replay owners and privileges apart from the restore (engines/types.ts). */
export type { PrivilegeReplay }

/**
 * Replays the routed statements (routedFile) in `target` as the clean-room role (psql, after the
 * location check): writes the script, says what it leaves out, and runs it. Returns psql's outcome.
 */
export async function replayPrivileges(
  tools: Pick<ClientTools, 'psql'>,
  target: ConnectionTarget,
  files: { routed: string[]; script: string; check: string },
  replay: PrivilegeReplay,
  limits: FaultLimits
): Promise<RestoreOutcome> {
  const script = await writeReplayScript(
    files.routed,
    files.script,
    replay.standIns,
    replay.encoding,
    replay.restoreRole,
    replay.onlyNaming !== undefined
  )
  core.info(
    `Replaying ${script.statements} ownership and privilege statement(s) of the dump as the clean-room role` +
      (replay.standIns.size > 0 ? ` (roles played by stand-ins: ${listNames([...replay.standIns.keys()])})` : '') +
      '.'
  )
  if (script.serverObjects.length > 0) {
    core.warning(
      `Not replayed: ${script.serverObjects.length} grant(s) on the clean-room server's own objects (pg_catalog, ` +
        `information_schema), which would give production's roles rights over the clean-room server; they are not compared either.`,
      { title: 'Lazarus: grants on system objects not replayed' }
    )
  }
  return restoreDump(tools, target, files.script, files.check, limits)
}
