import * as fs from 'node:fs'
import { messageOf } from './errors.js'

/**
 * A cancelled workflow sends SIGINT, then SIGTERM 7.5 s later, then kills the step 2.5 s after
 * that. Cleanup registered here (dropping scratch databases, deleting dumps) runs on the first
 * signal; the post step finishes whatever a kill cut short. The signal handlers themselves are
 * the action's (action/signals.ts): this module is what every layer below may ask or register.
 */
const cleanups = new Set<() => Promise<void>>()
let cancelling = false
let childrenEnded = false

/** Registers cleanup for a cancellation; returns the function that unregisters it. */
export function onCancel(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup)
  return () => cleanups.delete(cleanup)
}

/**
 * True once a cancellation signal arrived. From then on the cancellation handler owns the run:
 * work that ends because of it (a client program it stopped) must not report that as a failure.
 */
export function isCancelling(): boolean {
  return cancelling
}

/** Marks the run as cancelled; false when it already was (a second signal). */
export function beginCancelling(): boolean {
  if (cancelling) return false
  cancelling = true
  return true
}

/** Runs the registered cleanups, newest first; a failing one is reported and the rest still run. */
export async function runCleanups(warn: (message: string) => void): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup()
    } catch (error) {
      warn(`Cleanup after cancellation failed: ${messageOf(error)}`)
    }
  }
}

/**
 * True once Lazarus stopped its client programs itself (a cancellation, or a server that stopped
 * answering): a program that ends then must not be reported as failing, since whoever stopped
 * it reports why.
 */
export function childProcessesEnded(): boolean {
  return childrenEnded
}

/**
 * Stops the client programs this process started (pg_dump, psql, sed, and the bash that streams
 * them): a signal reaches only this process, and a pg_dump left running would go on reading
 * production after the step ended. @actions/exec does not hand out its children, so the whole
 * tree below this process is found through /proc (Linux); where there is no /proc, dropping the
 * scratch database still ends a restore, and the runner ends the rest with the step's process tree.
 */
export function endChildProcesses(): void {
  childrenEnded = true
  for (const pid of descendants(process.pid)) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // The process ended meanwhile, or is not ours to signal.
    }
  }
}

/** Every process below `root`, from /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces and parentheses). */
function descendants(root: number): number[] {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  const children = new Map<number, number[]>()
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}
