/**
 * The order of the Kubernetes versions a node runs. One function for the server
 * (an upgrade refuses a downgrade) and the web UI (it offers only newer versions),
 * so the two cannot disagree on which version is newer.
 */

const versionParts = (v: string): number[] => (/^v(\d+)\.(\d+)\.(\d+)/.exec(v) ?? []).slice(1).map(Number);

/** Orders `vMAJOR.MINOR.PATCH` versions numerically (v1.9.0 < v1.10.0). */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
