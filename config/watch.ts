import { unwatchFile, watchFile } from 'node:fs';

/**
 * Calls `onChange` when the config file changes on disk (polled stat, so editors that replace the file
 * atomically are seen too) and on SIGHUP. Returns the function that stops watching. Changes within
 * `debounceMs` are folded into one call.
 */
export function watchConfig(file: string, onChange: (why: 'file' | 'SIGHUP') => void, opts: { intervalMs?: number; debounceMs?: number } = {}): () => void {
  let timer: NodeJS.Timeout | undefined;
  const fire = (why: 'file' | 'SIGHUP') => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => onChange(why), opts.debounceMs ?? 300);
  };
  const onStat = (cur: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) fire('file');
  };
  const onHup = () => fire('SIGHUP');
  watchFile(file, { interval: opts.intervalMs ?? 1000, persistent: false }, onStat);
  process.on('SIGHUP', onHup);
  return () => {
    if (timer) clearTimeout(timer);
    unwatchFile(file, onStat);
    process.off('SIGHUP', onHup);
  };
}
