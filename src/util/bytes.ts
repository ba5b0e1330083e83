const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** The binary unit a byte count reads best in, and how many bytes it holds: [unit, size]. */
export function byteUnit(bytes: number): [string, number] {
  let unit = 0
  while (bytes >= 1024 ** (unit + 1) && unit < UNITS.length - 1) unit++
  return [UNITS[unit]!, 1024 ** unit]
}

/** "512 B", "1.2 MiB": the one way Lazarus writes a size for people (logs, summary, messages). */
export function formatBytes(bytes: number): string {
  const [unit, size] = byteUnit(bytes)
  return `${size === 1 ? bytes : (bytes / size).toFixed(1)} ${unit}`
}
