import * as core from '@actions/core'
import { messageOf } from './errors.js'

/**
 * A cancelled workflow sends SIGINT, then SIGTERM, then kills the step a few seconds later.
 * Cleanup registered here (dropping scratch databases, deleting dumps) runs on the first signal;
 * the post step finishes whatever a kill cut short.
 */
const cleanups = new Set<() => Promise<void>>()
let cancelling = false

/** Registers cleanup for a cancellation; returns the function that unregisters it. */
export function onCancel(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

async function cancel(signal: NodeJS.Signals): Promise<void> {
  if (cancelling) return
  cancelling = true
  core.setOutput('result', 'error')
  core.error(`Cancelled by ${signal}: removing scratch databases and dump files.`, { title: 'Lazarus: cancelled' })
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup()
    } catch (error) {
      core.warning(`Cleanup after cancellation failed: ${messageOf(error)}`)
    }
  }
  process.exit(1)
}

/** Installs the signal handlers for the main step. */
export function handleCancellation(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cancel(signal))
}
