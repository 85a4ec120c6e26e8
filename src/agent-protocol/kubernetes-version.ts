/**
 * The order of the Kubernetes versions a node runs, and which upgrades Kubernetes
 * supports. One module for the server (an upgrade refuses a downgrade or a skipped
 * minor release) and the web UI (it offers only what the server would take), so the
 * two cannot disagree.
 */

interface ParsedVersion { numbers: number[]; preRelease: string[] }

/** `vMAJOR.MINOR.PATCH[-PRE][+BUILD]`, as Kubernetes releases are named (v1.36.3, v1.36.3-rc.0); build metadata plays no part. */
function parse(version: string): ParsedVersion {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?/.exec(version);
  return { numbers: [1, 2, 3].map((i) => Number(match?.[i] ?? 0)), preRelease: match?.[4]?.split('.') ?? [] };
}

/** SemVer's pre-release order: numbers numerically and below words, words as text, a longer list after its prefix. */
function comparePreRelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length; // a release follows its pre-releases
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x = '', y = ''] = [a[i], b[i]];
    if (x === y) continue;
    const [xNumber, yNumber] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (xNumber && yNumber) return Number(x) - Number(y);
    if (xNumber !== yNumber) return xNumber ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Orders versions as releases follow each other: v1.9.0 < v1.10.0, v1.36.3-alpha.0 < v1.36.3-rc.0 < v1.36.3. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if ((x.numbers[i] ?? 0) !== (y.numbers[i] ?? 0)) return (x.numbers[i] ?? 0) - (y.numbers[i] ?? 0);
  return comparePreRelease(x.preRelease, y.preRelease);
}

/**
 * Whether Kubernetes supports going from `current` to `target`: only forward, and at most one
 * minor release at a time (its version skew policy: kube-apiservers of one cluster may differ
 * by one minor release while an upgrade rolls through them).
 */
export function upgradeStep(current: string, target: string): 'upgrade' | 'same' | 'downgrade' | 'skips a minor release' {
  const order = compareVersions(target, current);
  if (order === 0) return 'same';
  if (order < 0) return 'downgrade';
  const [from, to] = [parse(current).numbers, parse(target).numbers];
  return to[0] !== from[0] || (to[1] ?? 0) > (from[1] ?? 0) + 1 ? 'skips a minor release' : 'upgrade';
}
