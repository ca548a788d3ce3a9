import path from 'node:path';
import cliProgress from 'cli-progress';
import type { ImportProgress } from './importer.js';

const megabytes = (bytes: number) => (bytes / 1_048_576).toFixed(1);

/**
 * A progress bar on stderr, by bytes of the input files as stored (compressed bytes for .gz, so
 * it moves evenly however well a file compresses), with rows, rejected rows and events.
 */
export function createProgressBar(stream: NodeJS.WritableStream = process.stderr) {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        '{bar} {percentage}% {read}/{total_mb} MB | {rows} rows, {rejected} rejected, {events} events | {file} | {duration_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress: ImportProgress): void {
      const payload = {
        read: megabytes(progress.bytesRead),
        total_mb: megabytes(progress.bytesTotal),
        rows: progress.rowsRead,
        rejected: progress.rowsRejected,
        events: progress.eventsWritten,
        file: path.basename(progress.file),
      };
      if (!started) {
        bar.start(progress.bytesTotal, progress.bytesRead, payload);
        started = true;
      } else {
        bar.update(progress.bytesRead, payload);
      }
    },
    stop(): void {
      if (started) bar.stop();
    },
  };
}
