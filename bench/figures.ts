/** From measurements to figures: medians, paired ratios, the tables and the targets' verdicts. */
import {
  GIB,
  LINEAR_EXPONENT_LIMIT,
  MIB,
  TARGET_PEAK_MIB,
  TARGET_RATIO_AT_1GB,
  TARGET_RATIO_EVERY_SIZE,
  VARIANTS,
  VARIANT_LABEL,
  type BuiltDatabase,
  type Measurement,
  type Variant
} from './plan.js'

export interface Summary {
  built: BuiltDatabase
  /** Median wall time of the good rounds. */
  wall: Partial<Record<Variant, number>>
  /** Median of the paired per-round ratios (see pairRatios): against naive pipe and naive file. */
  ratioPipe: Partial<Record<Variant, number>>
  ratioFile: Partial<Record<Variant, number>>
  cpu: Partial<Record<Variant, number>>
  failed: Partial<Record<Variant, string>>
  nodePeakMiB: Partial<Record<Variant, number>>
  treeMaxMiB: Partial<Record<Variant, number>>
  stages: Partial<Record<Variant, Record<string, number>>>
  /** A keep-* run's kept backup: its size (median bytes) and the compression its manifest records. */
  kept: Partial<Record<Variant, { bytes?: number; compression?: string }>>
  /** Median over rounds of a run's wall time over the same round's Lazarus checksums run (the streamed run). */
  toStreamedByRound: Partial<Record<Variant, number>>
  tables?: number
  rows?: number
  dumpBytes?: number
}

export function summarize(built: BuiltDatabase, measurements: Measurement[]): Summary {
  const summary: Summary = {
    built,
    wall: {},
    ratioPipe: {},
    ratioFile: {},
    cpu: {},
    failed: {},
    nodePeakMiB: {},
    treeMaxMiB: {},
    stages: {},
    kept: {},
    toStreamedByRound: {}
  }
  for (const variant of VARIANTS) {
    const runs = measurements.filter(m => m.size === built.spec.name && m.variant === variant)
    if (runs.length === 0) continue
    const failed = runs.find(m => !m.ok)
    if (failed) summary.failed[variant] = failed.error ?? 'failed'
    const good = runs.filter(m => m.ok)
    if (good.length === 0) continue
    // A shared machine's other work comes and goes: one lucky round must not decide. Times are
    // medians; ratios are medians of each Lazarus run against the naive run right before it.
    const typical = medianRun(good)
    summary.wall[variant] = median(good.map(m => m.wallSeconds))
    const paired = (key: 'ratioPipe' | 'ratioFile') => median(good.map(m => m[key]).filter((v): v is number => v !== undefined))
    summary.ratioPipe[variant] = paired('ratioPipe')
    summary.ratioFile[variant] = paired('ratioFile')
    const cpu = good.map(m => m.cpuSeconds).filter((v): v is number => v !== undefined)
    if (cpu.length > 0) summary.cpu[variant] = median(cpu)
    const peaks = good.map(m => m.nodePeakKiB).filter((v): v is number => v !== undefined)
    if (peaks.length > 0) summary.nodePeakMiB[variant] = Math.max(...peaks) / 1024
    const trees = good.map(m => m.treeMaxRssKiB).filter((v): v is number => v !== undefined)
    if (trees.length > 0) summary.treeMaxMiB[variant] = Math.max(...trees) / 1024
    summary.stages[variant] = typical.stages
    if (variant.startsWith('keep-')) {
      summary.kept[variant] = {
        bytes: median(good.map(m => m.keptBytes).filter((v): v is number => v !== undefined)),
        compression: good.find(m => m.keptCompression)?.keptCompression
      }
    }
    const streamed = (m: Measurement) =>
      measurements.find(o => o.size === m.size && o.round === m.round && o.variant === 'checksums' && o.ok)
    summary.toStreamedByRound[variant] = median(
      good.flatMap(m => {
        const other = streamed(m)
        return other ? [m.wallSeconds / other.wallSeconds] : []
      })
    )
    summary.tables ??= good[0]!.tables
    summary.rows ??= good[0]!.rows
    if (variant === 'naive-file') summary.dumpBytes = good[0]!.dumpBytes
  }
  return summary
}

/** The median of some numbers (the mean of the middle two for an even count); undefined for none. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The run whose wall time is the median (the lower middle one), for its stages. */
export function medianRun(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

/**
 * Pairs each Lazarus run with the naive runs before it: the naive pipe run measured right before
 * it, and the naive file run of its round. Their conditions (load, caches) are the closest there are.
 */
export function pairRatios(measurement: Measurement, earlier: Measurement[]): void {
  const before = earlier.filter(m => m.size === measurement.size && m.ok && (m.seq ?? 0) < (measurement.seq ?? 0))
  const last = (variant: Variant) => before.filter(m => m.variant === variant).at(-1)
  const pipe = last('naive-pipe')
  const file = before.filter(m => m.variant === 'naive-file' && m.round === measurement.round).at(-1)
  if (measurement.ok && pipe) measurement.ratioPipe = measurement.wallSeconds / pipe.wallSeconds
  if (measurement.ok && file) measurement.ratioFile = measurement.wallSeconds / file.wallSeconds
}

export const fmt = (value: number | undefined, digits = 1): string =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a / b
export const difference = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a - b
export const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`

export function wallTable(summaries: Summary[]): string {
  const lines = [
    '| Size | Database | Tables / rows | Run | Wall (median) | Ratio to naive file / pipe (median of paired rounds) |',
    '| ---- | -------: | ------------: | --- | ------------: | ---------------------------------------------------: |'
  ]
  for (const s of summaries) {
    for (const variant of VARIANTS) {
      if (s.wall[variant] === undefined && !s.failed[variant]) continue
      const wall = s.failed[variant] && s.wall[variant] === undefined ? 'failed' : `${fmt(s.wall[variant])} s`
      const ratios =
        variant === 'naive-file' || variant === 'naive-pipe'
          ? ''
          : `${fmt(s.ratioFile[variant], 2)}× / ${fmt(s.ratioPipe[variant], 2)}×`
      lines.push(
        `| ${s.built.spec.name} | ${mib(s.built.bytes)} | ${s.tables ?? '—'} / ${s.rows?.toLocaleString('en-US') ?? '—'} | ` +
          `${VARIANT_LABEL[variant]} | ${wall} | ${ratios} |`
      )
    }
  }
  return lines.join('\n')
}

export function cpuTable(summaries: Summary[]): string {
  const lines = [
    '| Size | Naive, file | Naive, pipe | Lazarus counts | ratio file / pipe | Lazarus checksums | ratio file / pipe |',
    '| ---- | ----------: | ----------: | -------------: | ----------------: | ----------------: | ----------------: |'
  ]
  for (const s of summaries) {
    const cell = (variant: Variant) => `${fmt(s.cpu[variant])} s`
    const ratios = (variant: Variant) =>
      `${fmt(ratio(s.cpu[variant], s.cpu['naive-file']), 2)}× / ${fmt(ratio(s.cpu[variant], s.cpu['naive-pipe']), 2)}×`
    lines.push(
      `| ${s.built.spec.name} | ${cell('naive-file')} | ${cell('naive-pipe')} | ${cell('counts')} | ${ratios('counts')} | ` +
        `${cell('checksums')} | ${ratios('checksums')} |`
    )
  }
  return lines.join('\n')
}

export function memoryTable(summaries: Summary[]): string {
  const lines = [
    "| Size | Node peak, counts | Node peak, checksums | Largest process in the action's tree | Throughput (MiB of database / s, median wall) |",
    '| ---- | ----------------: | -------------------: | -----------------------------------: | --------------------------------------------- |'
  ]
  for (const s of summaries) {
    const mb = s.built.bytes / MIB
    const throughput = VARIANTS.filter(v => s.wall[v] !== undefined)
      .map(v => `${VARIANT_LABEL[v]} ${fmt(mb / s.wall[v]!)}`)
      .join(' · ')
    const tree = Math.max(s.treeMaxMiB.counts ?? 0, s.treeMaxMiB.checksums ?? 0)
    lines.push(
      `| ${s.built.spec.name} | ${fmt(s.nodePeakMiB.counts)} MiB | ${fmt(s.nodePeakMiB.checksums)} MiB | ${tree ? `${fmt(tree)} MiB` : '—'} | ${throughput} |`
    )
  }
  return lines.join('\n')
}

export function stageTable(summaries: Summary[]): string {
  const lines = ['| Size | Run | Stages (s) | Total (s) |', '| ---- | --- | ---------- | --------: |']
  for (const s of summaries) {
    for (const variant of VARIANTS) {
      const stages = s.stages[variant]
      if (!stages) continue
      const text = Object.entries(stages)
        .filter(([name]) => name !== 'total')
        .map(([name, value]) => `${name} ${fmt(value, 2)}`)
        .join(', ')
      lines.push(`| ${s.built.spec.name} | ${VARIANT_LABEL[variant]} | ${text} | ${fmt(s.wall[variant], 2)} |`)
    }
  }
  return lines.join('\n')
}

/** log-log slope of time over database size between two sizes: 1 is linear, 2 quadratic. */
export function exponent(a: Summary, b: Summary, pick: (s: Summary) => number | undefined): number | undefined {
  const ta = pick(a)
  const tb = pick(b)
  if (ta === undefined || tb === undefined || ta <= 0 || tb <= 0) return undefined
  return Math.log(tb / ta) / Math.log(b.built.bytes / a.built.bytes)
}

export function targets(summaries: Summary[]): string[] {
  const out: string[] = []
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**')
  const againstBoth = (s: Summary) => ({ file: s.ratioFile.checksums, pipe: s.ratioPipe.checksums })

  const gigabyte = summaries.filter(s => s.built.bytes >= GIB)
  if (gigabyte.length === 0) {
    out.push(`- checksums within ${TARGET_RATIO_AT_1GB}× the naive pipeline at 1 GB: not measured (no size ≥ 1 GiB in this run).`)
  } else {
    for (const s of gigabyte) {
      const r = againstBoth(s)
      out.push(
        `- checksums within ${TARGET_RATIO_AT_1GB}× the naive pipeline at 1 GB (${s.built.spec.name}, ${mib(s.built.bytes)}): ` +
          `${fmt(r.file, 2)}× naive (file) → ${verdict(r.file === undefined ? undefined : r.file <= TARGET_RATIO_AT_1GB)}; ` +
          `${fmt(r.pipe, 2)}× naive (pipe) → ${verdict(r.pipe === undefined ? undefined : r.pipe <= TARGET_RATIO_AT_1GB)}.`
      )
    }
  }

  const every = summaries.map(s => ({ s, ...againstBoth(s) }))
  const allWithin = (key: 'file' | 'pipe') =>
    every.some(e => e[key] === undefined) ? undefined : every.every(e => e[key]! <= TARGET_RATIO_EVERY_SIZE)
  const worst = (key: 'file' | 'pipe') => Math.max(...every.map(e => e[key] ?? Number.NaN))
  out.push(
    `- checksums within ${TARGET_RATIO_EVERY_SIZE}× at every size: worst ${fmt(worst('file'), 2)}× naive (file) → ${verdict(allWithin('file'))}; ` +
      `worst ${fmt(worst('pipe'), 2)}× naive (pipe) → ${verdict(allWithin('pipe'))} ` +
      `(${every.map(e => `${e.s.built.spec.name} ${fmt(e.file, 2)}× / ${fmt(e.pipe, 2)}×`).join(', ')}).`
  )

  const peaks = summaries
    .flatMap(s => [s.nodePeakMiB.counts, s.nodePeakMiB.checksums])
    .filter((v): v is number => v !== undefined)
  const peak = peaks.length > 0 ? Math.max(...peaks) : undefined
  out.push(
    `- peak memory of the Node process under ${TARGET_PEAK_MIB} MiB at every size: highest ${fmt(peak)} MiB → ` +
      `${verdict(peak === undefined ? undefined : peak < TARGET_PEAK_MIB)} ` +
      `(${summaries.map(s => `${s.built.spec.name} ${fmt(s.nodePeakMiB.counts)} / ${fmt(s.nodePeakMiB.checksums)} MiB`).join(', ')}; counts / checksums).`
  )

  const sorted = [...summaries].sort((a, b) => a.built.bytes - b.built.bytes)
  if (sorted.length < 2) {
    out.push('- verification time grows linearly: not measured (needs at least two sizes).')
  } else {
    const picks: [string, (s: Summary) => number | undefined][] = [
      ['Lazarus checksums wall time', s => s.wall.checksums],
      ['its verify stage', s => s.stages.checksums?.verify],
      ['its CPU seconds', s => s.cpu.checksums],
      ['checksums minus naive (file), wall', s => difference(s.wall.checksums, s.wall['naive-file'])]
    ]
    const pairs = sorted.slice(1).map((b, i) => [sorted[i]!, b] as const)
    const described = picks.map(([label, pick]) => {
      const slopes = pairs.map(([a, b]) => `${a.built.spec.name}→${b.built.spec.name} ${fmt(exponent(a, b, pick), 2)}`)
      return `${label}: ${slopes.join(', ')}`
    })
    const [a, b] = pairs[pairs.length - 1]!
    const last = picks.slice(0, 3).map(([, pick]) => exponent(a, b, pick))
    const linear = last.some(v => v === undefined) ? undefined : last.every(v => v! <= LINEAR_EXPONENT_LIMIT)
    const perGiB = (pick: (s: Summary) => number | undefined) =>
      sorted
        .map(s => `${s.built.spec.name} ${fmt(pick(s) === undefined ? undefined : pick(s)! / (s.built.bytes / GIB))} s`)
        .join(', ')
    out.push(
      `- verification time grows linearly with data: log-log slope of time over database size (1 = linear, 2 = quadratic; ` +
        `met when the wall time, the verify stage and the CPU seconds of checksums all stay ≤ ${LINEAR_EXPONENT_LIMIT} between the two ` +
        `largest sizes) → ${verdict(linear)}. ${described.join('; ')}. Per GiB, wall: ${perGiB(s => s.wall.checksums)}; ` +
        `CPU: ${perGiB(s => s.cpu.checksums)}.`
    )
  }
  out.push(...restorePointTargets(summaries, verdict))
  out.push(
    `- for reference, the same ratios in CPU seconds (far less sensitive to other work on the machine), checksums / naive (file) and ` +
      `/ naive (pipe): ${summaries
        .map(
          s =>
            `${s.built.spec.name} ${fmt(ratio(s.cpu.checksums, s.cpu['naive-file']), 2)}× / ` +
            `${fmt(ratio(s.cpu.checksums, s.cpu['naive-pipe']), 2)}×`
        )
        .join(', ')}.`
  )
  return out
}

/** Issue 12's speed targets (at 1 GiB): keeping a custom restore point, and verifying a kept directory one. */
export const TARGET_KEEP_CUSTOM = 1.3
export const TARGET_VERIFY_DIRECTORY = 1.0
/** The custom-format keep runs: the default backup-compression, and each one measured beside it. */
const KEEP_CUSTOM: Variant[] = ['keep-custom', 'keep-custom-none', 'keep-custom-gzip1']

/** A run's cost over the streamed run: both against the same baseline, the naive pipe right before each. */
const toStreamed = (s: Summary, variant: Variant) => ratio(s.ratioPipe[variant], s.ratioPipe.checksums)

export function restorePointTargets(summaries: Summary[], verdict: (ok: boolean | undefined) => string): string[] {
  const out: string[] = []
  const gigabyte = summaries.filter(s => s.built.bytes >= GIB)
  const each = (variant: Variant) => summaries.map(s => `${s.built.spec.name} ${fmt(toStreamed(s, variant), 2)}×`).join(', ')
  const measured = (variant: Variant) => summaries.some(s => s.wall[variant] !== undefined)
  const checks: [Variant, number, string][] = [
    ...KEEP_CUSTOM.filter(measured).map(
      variant =>
        [variant, TARGET_KEEP_CUSTOM, `keeping a custom-format restore point (${VARIANT_LABEL[variant]})`] as [
          Variant,
          number,
          string
        ]
    ),
    ['verify-directory', TARGET_VERIFY_DIRECTORY, 'verifying a kept directory-format restore point from its manifest (jobs: 2)']
  ]
  if (!KEEP_CUSTOM.some(measured)) {
    out.push(
      `- keeping a custom-format restore point within ${TARGET_KEEP_CUSTOM}× the streamed run (Lazarus checksums): not measured in this run.`
    )
  }
  for (const [variant, target, what] of checks) {
    if (!measured(variant)) {
      out.push(`- ${what} within ${target}× the streamed run (Lazarus checksums): not measured in this run.`)
      continue
    }
    const at1GiB = gigabyte.map(s => toStreamed(s, variant))
    const met = at1GiB.length === 0 || at1GiB.some(r => r === undefined) ? undefined : at1GiB.every(r => r! <= target)
    out.push(
      `- ${what} within ${target}× the streamed run (Lazarus checksums) at 1 GiB: ` +
        `${gigabyte.length === 0 ? 'no size ≥ 1 GiB in this run' : verdict(met)}; by size (median paired ratio to naive pipe, ` +
        `divided by the streamed run's): ${each(variant)}.`
    )
  }
  out.push(
    `- for the other formats, the same quotient: keep directory ${each('keep-directory')}; keep plain ${each('keep-plain')}.`
  )
  return out
}

/**
 * The restore points side by side: what each kept backup weighs and what keeping it costs, so
 * the choice of backup-compression is visible. Two measures of the cost: the quotient of paired
 * ratios (the targets') and, per round, the keep run over that round's streamed run.
 */
export function restorePointTable(summaries: Summary[]): string {
  const variants = VARIANTS.filter(v => v.startsWith('keep-') && summaries.some(s => s.wall[v] !== undefined))
  if (variants.length === 0) return 'No restore point was kept in this run.'
  const lines = [
    '| Size | Run | Compression | Kept backup | Wall (median) | To the streamed run: paired ratios / per round | CPU (median) | CPU to the streamed run |',
    '| ---- | --- | ----------- | ----------: | ------------: | ---------------------------------------------: | -----------: | ----------------------: |'
  ]
  for (const s of summaries) {
    lines.push(
      `| ${s.built.spec.name} | ${VARIANT_LABEL.checksums} (streamed, nothing kept) | — | — | ${fmt(s.wall.checksums)} s | 1× | ${fmt(s.cpu.checksums)} s | 1× |`
    )
    for (const variant of variants) {
      if (s.wall[variant] === undefined) continue
      const kept = s.kept[variant]
      lines.push(
        `| ${s.built.spec.name} | ${VARIANT_LABEL[variant]} | ${kept?.compression ?? '—'} | ` +
          `${kept?.bytes === undefined ? '—' : mib(kept.bytes)} | ${fmt(s.wall[variant])} s | ` +
          `${fmt(toStreamed(s, variant), 2)}× / ${fmt(s.toStreamedByRound[variant], 2)}× | ${fmt(s.cpu[variant])} s | ` +
          `${fmt(ratio(s.cpu[variant], s.cpu.checksums), 2)}× |`
      )
    }
  }
  return lines.join('\n')
}
