/**
 * The warning a suite prints when it is skipped for want of something on
 * the machine: boxed, on stderr, so that a skip is never read as a pass.
 */
export function warnSkipped (lines: string[]): void {
  const width = Math.max(...lines.map((line) => line.length))
  const bar = '═'.repeat(width + 2)
  process.stderr.write(['', `╔${bar}╗`, ...lines.map((line) => `║ ${line.padEnd(width)} ║`), `╚${bar}╝`, ''].join('\n') + '\n')
}
