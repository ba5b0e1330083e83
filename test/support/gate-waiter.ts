/**
 * A stand-in for an action killed while its scratch database is still being created: it starts
 * the real stream with a restore target that never becomes ready, says so, and waits. The test
 * kills it with SIGKILL (no handler runs) and looks for what it left behind.
 *
 * Environment: GATE_PRODUCTION_URL, GATE_RESTORE_URL, GATE_SNAPSHOT, GATE_WORK_DIR.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseConnectionUrl } from '../../src/engines/postgres/connection.js'
import { resolveClientTools, streamDumpIntoRestore } from '../../src/engines/postgres/pg-tools.js'

const env = (name: string) => process.env[name] ?? ''
const work = env('GATE_WORK_DIR')
const tools = await resolveClientTools(13)
// psql never runs here (its database never becomes ready): a check that would pass anywhere will do.
const checkFile = path.join(work, 'orphan.check.sql')
writeFileSync(checkFile, 'SELECT 1;\n')
const streaming = streamDumpIntoRestore(
  tools,
  parseConnectionUrl('production-url', env('GATE_PRODUCTION_URL')),
  parseConnectionUrl('cleanroom-url', env('GATE_RESTORE_URL')),
  {
    snapshot: env('GATE_SNAPSHOT'),
    filter: ['cat'],
    statusFile: path.join(work, 'orphan.status'),
    scriptFile: path.join(work, 'orphan.sh'),
    bytesFile: path.join(work, 'orphan.bytes'),
    gateFile: path.join(work, 'orphan.gate'),
    restoreTargetReady: new Promise(() => undefined),
    checkFile,
    productionTakesOptions: true
  }
)
console.log('streaming')
await streaming
