/**
 * Telling an agent why its session ends for good, before it is closed: over the
 * session itself (an HTTP/2 request to the agent's goodbye route), so the agent
 * can log the reason and act on it (retry slowly, or exit). Best effort: an agent
 * that does not answer within a few seconds is closed all the same.
 */
import type { Logger } from '../logging/index.ts';
import { goodbyeRoute, type Goodbye } from '../agent-protocol/index.ts';
import type { AgentSessionView } from '../tunnel/index.ts';

const answerWithinMs = 5_000;

/** Resolves whether the agent took the message (an agent that predates the route answers 404). */
export async function sayGoodbye(session: AgentSessionView, goodbye: Goodbye, logger: Logger): Promise<boolean> {
  try {
    const response = await session.request(goodbyeRoute.method, goodbyeRoute.path, {
      body: JSON.stringify(goodbye), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(answerWithinMs),
    });
    return response.status >= 200 && response.status < 300;
  } catch (error) {
    logger.info({ session: session.info.id, error: error instanceof Error ? error.message : String(error) }, 'could not tell the agent why its session ends');
    return false;
  }
}
