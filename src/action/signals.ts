import * as core from '@actions/core'
import { beginCancelling, endChildProcesses, runCleanups } from '../util/cancellation.js'

/** Past this, the process exits whatever cleanup is still doing: the runner's kill is near, and the post step finishes it. */
const CLEANUP_DEADLINE_MS = 9_000

/**
 * A cancelled workflow's signal: the step fails with result `error`, the client programs are
 * stopped, and the cleanups the run registered (util/cancellation.ts) run before the process exits.
 */
async function cancel(signal: NodeJS.Signals): Promise<void> {
  if (!beginCancelling()) return
  setTimeout(() => process.exit(1), CLEANUP_DEADLINE_MS)
  core.setOutput('result', 'error')
  core.error(`Cancelled by ${signal}: removing scratch databases and dump files.`, { title: 'Lazarus: cancelled' })
  endChildProcesses()
  await runCleanups(message => core.warning(message))
  process.exit(1)
}

/** Installs the signal handlers for the main step. */
export function handleCancellation(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cancel(signal))
}
