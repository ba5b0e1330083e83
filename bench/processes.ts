/** The child processes the benchmark starts, and the CPU seconds of everything a run caused. */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Cluster } from '../test/support/cluster.js'

// Processes

export const children = new Set<ChildProcess>()
export const actionPidFiles = new Set<string>()

export interface ExecResult {
  code: number | null
  stdout: string
  stderr: string
}

export function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; keepStdout?: boolean } = {}
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const keepStdout = opts.keepStdout ?? true
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', keepStdout ? 'pipe' : 'ignore', 'pipe']
    })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)))
    child.on('error', error => {
      children.delete(child)
      reject(error)
    })
    child.on('close', code => {
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(opts.input ?? '')
  })
}

export async function mustExec(
  what: string,
  cmd: string,
  args: string[],
  opts: Parameters<typeof exec>[2] = {}
): Promise<string> {
  const r = await exec(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`)
  return r.stdout
}

/** Terminates the processes this script started (and the action under /usr/bin/time, through its pid file). */
export function killChildren(): void {
  for (const child of children) child.kill('SIGTERM')
  for (const file of actionPidFiles) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim())
      const grandchildren = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
      for (const child of grandchildren) process.kill(Number(child), 'SIGTERM')
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
}

export function seconds(started: number): number {
  return (performance.now() - started) / 1000
}

export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: /proc/<pid>/stat utime, stime, cutime, cstime (clock ticks)

/** USER_HZ: /proc reports CPU times in 1/100 s on Linux. */
export const CLOCK_TICKS = 100

export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14 to 17
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0)
  } catch {
    return 0 // the process is gone
  }
}

/** CPU seconds of a server so far: the postmaster, the backends it reaped, and the processes still running under it. */
export function serverCpuSeconds(cluster: Cluster): number {
  const postmaster = Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  let ticks = cpuTicks(postmaster)
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
  for (const child of children) ticks += cpuTicks(Number(child))
  return ticks / CLOCK_TICKS
}

/** CPU seconds of this script's reaped children (clients, the action and everything it ran). */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS
}

export async function measureCpu<T>(clusters: Cluster[], work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const sample = () => childrenCpuSeconds() + clusters.reduce((sum, cluster) => sum + serverCpuSeconds(cluster), 0)
  const before = sample()
  const result = await work()
  // backends exit (and are reaped) just after their clients disconnect
  await new Promise(resolve => setTimeout(resolve, 300))
  return { result, cpuSeconds: sample() - before }
}
