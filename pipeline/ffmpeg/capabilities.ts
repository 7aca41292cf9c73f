import ffmpeg from 'fluent-ffmpeg';

/**
 * Before it spawns a command, fluent-ffmpeg checks the formats and encoders it names against `ffmpeg -formats`
 * and `ffmpeg -encoders`, and caches their lists in the module — but only once the first check has finished.
 * Cameras started together all miss that cache: 150 cameras ran 300 extra ffmpeg processes at start-up
 * (≈ 40 s of a saturated machine before the last camera was spawned, and shared decoders that stopped
 * answering in the storm). Priming the cache once, before any camera starts, makes every later spawn a
 * cache hit.
 */
let primed: Promise<void> | undefined;

/**
 * Fills fluent-ffmpeg's format and encoder cache (once per process; later calls return the same promise). Never
 * rejects: when ffmpeg is missing or broken, each camera's own spawn reports it with the camera's name.
 */
export function primeFfmpegCapabilities(ffmpegPath?: string): Promise<void> {
  return (primed ??= new Promise<void>((resolve) => {
    const cmd = ffmpeg();
    if (ffmpegPath) cmd.setFfmpegPath(ffmpegPath);
    cmd.availableFormats((err) => {
      if (err) return resolve();
      cmd.availableEncoders(() => resolve());
    });
  }));
}
