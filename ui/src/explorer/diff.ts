/** A line diff (longest common subsequence) for the editor's "what will change" view; objects are small enough for O(n·m). */

export interface DiffLine { op: ' ' | '-' | '+'; text: string }

/** The lines of `before` and `after` in order, marked kept, removed or added; unchanged runs far from a change are dropped. */
export function lineDiff(before: string, after: string, context = 3): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const common: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { out.push({ op: ' ', text: a[i]! }); i++; j++; }
    else if (j < b.length && (i >= a.length || common[i]![j + 1]! >= common[i + 1]![j]!)) { out.push({ op: '+', text: b[j]! }); j++; }
    else { out.push({ op: '-', text: a[i]! }); i++; }
  }
  const near = (k: number): boolean => out.slice(Math.max(0, k - context), k + context + 1).some((l) => l.op !== ' ');
  return out.filter((line, k) => line.op !== ' ' || near(k));
}
