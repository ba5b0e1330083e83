import * as fs from 'node:fs'
import type { SanitizerRequest, Sanitizer, SeamMaintenance } from '../types.js'
import { ownSession } from './database.js'
import type { TableRef } from './figure-queries.js'
import { psqlUnderstandsRestrict, writeWorkFile, type ClientTools, type WorkFile } from './pg-tools.js'
import {
  buildSedProgram,
  metaCommandStopMessage,
  stoppedConstruct,
  summarizeRemovedLines,
  type SanitizedDirective
} from './sanitize-rules.js'
import { sedFilter } from './sed.js'
import { stopMessage, type SkewRuleId } from './skew-catalogue.js'

/**
 * PostgreSQL's sanitizer for one run (engines/types.ts SanitizerCapability): the sed program of
 * sanitize-rules.ts, built from what the clean room knows and written to the run's work files, run
 * by sed (sed.ts) in every pipeline that restores the dump, and read back once the stream has
 * run: what it removed (the report's `sanitized`) and the construct that stopped it, if any.
 */

/** The sed filter in the stream, and what it removed once the stream has run (the seam's Sanitizer, and what only PostgreSQL's streams read). */
export interface SanitizeFilter extends Sanitizer {
  /** The sed program (of the first pipeline), as written to its file. */
  program: string
  argv: string[]
  /**
   * The argv for the n-th of several pipelines that run the filter (a stored archive restored in
   * sections): sed empties its `w` file when it starts, so each pipeline records the lines it
   * removed in a file of its own, and removed()/stopped() read them all.
   */
  argvFor(pipeline: number): string[]
  copyFile?: string
  /** The line index sed writes (SanitizeRuleOptions.linesFile), when asked for one. */
  linesFile?: string
  cleanroomMajor: number
  /** The files sed writes, with what each holds. */
  files: Record<string, WorkFile>
  /** The files the pipelines routed pg_dump's ownership and privilege statements to, in pipeline order. */
  routedFiles(): string[]
  removed(): SanitizedDirective[]
  /** The error for a construct no rewrite restores faithfully, when one stopped the stream. */
  stopped(): string | undefined
}

/** The run hands back the sanitizer this engine built: its sed filter, with each pipeline's argv and its work files. */
export function ownFilter(sanitizer: Sanitizer): SanitizeFilter {
  if (!('argvFor' in sanitizer && 'files' in sanitizer))
    throw new Error("PostgreSQL's restore runs its own sanitizer's sed filter")
  return sanitizer as SanitizeFilter
}

/**
 * Builds the sed filter from what the clean room knows: it removes the directives the clean room
 * would reject, records each removed line, and (when asked) keeps a copy of the sanitized dump.
 */
export async function sanitizeFilter(
  maintenance: SeamMaintenance<TableRef>,
  {
    tools,
    workFile,
    production,
    standardConformingStrings,
    copyFile,
    linesFile,
    routedFile,
    routedRoles
  }: SanitizerRequest<Pick<ClientTools, 'psql'>>
): Promise<SanitizeFilter> {
  const cleanroom = ownSession(maintenance)
  const removedLinesFile = workFile('sanitize-removed.sql')
  const programFile = workFile('sanitize.sed')
  const cleanroomMajor = (await cleanroom.serverFacts()).major
  const rules = {
    knownSettings: await cleanroom.settingNames(),
    psqlUnderstandsRestrict: psqlUnderstandsRestrict(tools.psql),
    cleanroomMajor,
    // A fresh dump is written under production's session's setting; a stored one says in its preamble.
    standardConformingStrings: standardConformingStrings ?? (await ownSession(production).standardConformingStrings())
  }
  const program = buildSedProgram({
    ...rules,
    removedLinesFile,
    copyFile,
    linesFile,
    privilegedFile: routedFile,
    privilegedRoles: routedRoles
  })
  writeWorkFile(programFile, program, 'the sanitizer (a sed program)')
  const argv = await sedFilter(programFile)
  const removedLinesFiles = [removedLinesFile]
  const removedLines = () =>
    removedLinesFiles.flatMap(file => (fs.existsSync(file) ? fs.readFileSync(file, 'latin1').split('\n') : []))
  // Pipeline 1 runs the first program, which routes to routedFile itself.
  const routed = new Map<number, string>(routedFile ? [[1, routedFile]] : [])
  const argvFor = (pipeline: number): string[] => {
    if (pipeline <= 1) return argv
    const ownRemovedLines = `${removedLinesFile}.${pipeline}`
    const ownProgram = `${programFile}.${pipeline}`
    const ownRouted = routedFile && `${routedFile}.${pipeline}`
    if (ownRouted) routed.set(pipeline, ownRouted)
    // No copy of the dump nor line index here: those are only ever taken of a single, whole pipeline.
    writeWorkFile(
      ownProgram,
      buildSedProgram({
        ...rules,
        removedLinesFile: ownRemovedLines,
        privilegedFile: ownRouted,
        privilegedRoles: routedRoles
      }),
      'the sanitizer (a sed program)'
    )
    if (!removedLinesFiles.includes(ownRemovedLines)) removedLinesFiles.push(ownRemovedLines)
    return argv.map(arg => (arg === programFile ? ownProgram : arg))
  }
  return {
    program,
    argv,
    argvFor,
    copyFile,
    linesFile,
    cleanroomMajor,
    files: {
      [removedLinesFile]: { what: 'the lines it removed from the dump', dumpSized: false },
      ...(linesFile ? { [linesFile]: { what: "the dump's line index (a byte a row)", dumpSized: false } } : {}),
      ...(routedFile ? { [routedFile]: { what: "the dump's ownership and privilege statements", dumpSized: false } } : {}),
      ...(copyFile ? { [copyFile]: { what: 'the copy of the dump', dumpSized: true } } : {})
    },
    routedFiles: () => [...routed.entries()].sort(([a], [b]) => a - b).map(([, file]) => file),
    removed: () => summarizeRemovedLines(removedLines()),
    stopped: () => {
      const stopped = stoppedConstruct(removedLines())
      if (stopped?.rule === 'psql-meta-command') return metaCommandStopMessage(stopped.line)
      return stopped && stopMessage(stopped.rule as SkewRuleId, stopped.line, cleanroomMajor)
    }
  }
}
