/**
 * Plain-text columns for `ls`, `config list` and the doctor's permission table: each column as wide
 * as its widest cell, `gap` between columns, and the last column not padded (no trailing spaces).
 * Widths count UTF-16 code units, as `padEnd` does.
 */
export function textTable(rows: readonly (readonly string[])[], gap: string): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join(gap));
}
