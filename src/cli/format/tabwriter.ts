/**
 * Go's text/tabwriter for left-aligned, space-padded cells (flags 0), as Docker's `table` output uses
 * it: tab-terminated cells form columns; a column's width is set per block of consecutive lines
 * that have a cell in it.
 */

/** Tabwriter settings: minimum cell width and padding added to the widest cell. */
export interface TabSettings {
  minwidth: number;
  padding: number;
}

/** Docker's table settings: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const DOCKER_TABLE: TabSettings = { minwidth: 10, padding: 3 };

/** Aligns text's tab-separated cells into columns. */
export function tabwrite(text: string, s: TabSettings = DOCKER_TABLE): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const width = (cell: string) => [...cell].length;
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      out.push(cells.map((c, j) => (j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c)).join(''));
    }
  };

  // text/tabwriter's Writer.format: a column block is a run of lines with a cell in the current column.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let w = s.minwidth;
      for (; cur < line1 && column < lines[cur].length - 1; cur++) w = Math.max(w, width(lines[cur][column]) + s.padding);
      widths.push(w);
      format(line0, cur);
      widths.pop();
      line0 = cur;
      cur--;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n');
}
