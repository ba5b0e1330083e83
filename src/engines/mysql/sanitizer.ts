import * as fs from 'node:fs'
import type { SanitizedConstruct, Sanitizer, SanitizerRequest, SeamMaintenance } from '../types.js'
import { ownSession } from './database.js'
import type { MysqlTable } from './figure-queries.js'
import { collationEquivalents } from './skew-catalogue.js'
import { readRemovedLines, releaseOf, sanitizedConstructs, sanitizerProgram, type MysqlClientTools } from './tools.js'

/**
 * MySQL's sanitizer for one run (engines/types.ts SanitizerCapability): the sed program of
 * sanitize-rules.ts for this clean room's release and collations and these client programs, in
 * a private directory of the run's workspace that the stream then runs in (the program writes its
 * snapshot marker, line index and removed lines there), and read back once the stream has run.
 */
export interface MysqlSanitizer extends Sanitizer {
  /** The stream's own directory (sanitizerFiles): the marker, the line index and the removed lines are the program's. */
  workDir: string
}

export async function buildSanitizer(
  maintenance: SeamMaintenance<MysqlTable>,
  request: SanitizerRequest<MysqlClientTools>
): Promise<MysqlSanitizer> {
  const cleanroom = ownSession(maintenance)
  const production = ownSession(request.production)
  const workDir = request.workFile('stream')
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 })
  const [cleanroomFacts, cleanroomCollations] = await Promise.all([cleanroom.facts(), cleanroom.collations()])
  const program = sanitizerProgram({
    tools: request.tools,
    cleanroom: releaseOf(cleanroomFacts),
    cleanroomCollations,
    workDir,
    // SHOW CREATE writes production's database name into sequence references.
    productionTarget: production.target
  })
  const collationsRewritten = collationEquivalents(cleanroomCollations)
  return {
    program,
    workDir,
    copyFile: request.copyFile,
    cleanroomMajor: cleanroomFacts.major,
    ...(collationsRewritten.size > 0 ? { collationsRewritten } : {}),
    removed: (): SanitizedConstruct[] => sanitizedConstructs(readRemovedLines(workDir)),
    // A construct no rewrite restores stops sed with an exit status of its own: the stream's outcome names it.
    stopped: () => undefined,
    // MySQL's dump has no ownership or privilege statements to route.
    routedFiles: () => []
  }
}
