/** The contract between bench/run.ts and each bench/*.bench.ts file, plus shared statistics. */
import type { Pool } from 'undici';

export interface BenchContext {
  progress: (line: string) => void;
}

export interface BenchResult {
  /** Markdown lines for bench/results/latest.md: the figures and the ratios that matter. */
  summary: string;
  /** Every measured figure, for bench/results/<name>.json. */
  figures: Record<string, unknown>;
}

/** Percentile (0-100) of a sample, by nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface LatencyStats { count: number; p50Ms: number; p99Ms: number; meanMs: number; perSecond: number }

/** Summarises per-operation durations (ms) measured over `wallMs`. */
export function latencyStats(durationsMs: number[], wallMs: number): LatencyStats {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.length ? total / sorted.length : Number.NaN,
    perSecond: wallMs > 0 ? (sorted.length * 1000) / wallMs : Number.NaN,
  };
}

/** `count` GETs of `path` with a bearer token over `pool`, `concurrency` at a time; returns each one's duration (ms). Any answer but 200 fails the bench. */
export async function timedGets(pool: Pool, path: string, token: string, count: number, concurrency: number): Promise<number[]> {
  const durations: number[] = [];
  let left = count;
  const worker = async (): Promise<void> => {
    while (left > 0) {
      left -= 1;
      const started = performance.now();
      const res = await pool.request({ method: 'GET', path, headers: { authorization: `Bearer ${token}` } });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}: ${body.slice(0, 300)}`);
      durations.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return durations;
}
