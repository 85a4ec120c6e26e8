/**
 * When a provisioned node counts as unreachable. Its node agent asks for its plan
 * every 10 s, so three missed asks mean the machine or its agent is down, or cannot
 * reach the server. One rule for `drover clusters get` and the web UI, which both
 * read the server's own count of silent seconds (no clock skew between them).
 */

export const nodeSilentLimitSeconds = 30;

export function nodeUnreachable(node: { silentSeconds?: number | undefined }): boolean {
  return (node.silentSeconds ?? 0) > nodeSilentLimitSeconds;
}
