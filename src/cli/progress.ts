/**
 * A progress bar on standard error. On a terminal it redraws one line; otherwise (a log, CI) it
 * prints a line at every tenth so the output stays readable.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const width = 30;
  let lastTenth = -1;
  return {
    update(done: number, total: number): void {
      const fraction = total === 0 ? 1 : done / total;
      if (stream.isTTY) {
        const filled = Math.round(fraction * width);
        const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
        stream.write(
          `\r${label} [${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${done}/${total}`,
        );
        if (done >= total) stream.write('\n');
        return;
      }
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${label} ${tenth * 10}% ${done}/${total}\n`);
    },
  };
}
