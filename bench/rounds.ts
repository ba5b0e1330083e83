/** Rounds: the order of the runs within one, and the restore points the keep-* runs leave for the run after them. */
import { rmSync } from 'node:fs'
import path from 'node:path'
import { LAZARUS_VARIANTS, type BuiltDatabase, type Measurement, type Variant } from './plan.js'

/**
 * The runs of one round: naive file first, then each Lazarus run right after a naive pipe run of
 * its own (its pair), the Lazarus runs in an order that alternates between rounds. The stored
 * verification follows the run that kept its backup.
 */
export function roundOrder(variants: Variant[], round: number): Variant[] {
  const lazarus = LAZARUS_VARIANTS.filter(v => variants.includes(v))
  const ordered = round % 2 === 1 ? lazarus : [...lazarus].reverse()
  const order: Variant[] = ['naive-file']
  for (const variant of ordered) {
    order.push('naive-pipe', variant)
    if (variant === 'keep-directory' && variants.includes('verify-directory')) order.push('naive-pipe', 'verify-directory')
  }
  return order
}

/** backup-dir for a keep-* run; for the stored verification, the backup keep-directory kept this round. */
export function keptInputs(
  variant: Variant,
  measurements: Measurement[],
  built: BuiltDatabase,
  round: number,
  workDir: string
): Record<string, string> {
  if (variant.startsWith('keep-')) return { 'backup-dir': path.join(workDir, 'restore-points') }
  if (variant !== 'verify-directory') return {}
  const kept = measurements.filter(m => m.size === built.spec.name && m.round === round && m.variant === 'keep-directory').at(-1)
  return kept?.backupPath ? { 'backup-path': kept.backupPath } : {}
}

/** Removes a kept restore point once nothing in the round reads it again (they are as large as the database). */
export function discardKept(measurements: Measurement[], variants: Variant[], variant: Variant): void {
  const done = (m: Measurement) =>
    m.variant !== 'keep-directory' || !variants.includes('verify-directory') || variant === 'verify-directory'
  for (const m of measurements) {
    if (m.backupPath && done(m)) {
      rmSync(path.dirname(m.backupPath), { recursive: true, force: true })
      delete m.backupPath
    }
  }
}
