/**
 * The browser part of `drover login URL --provider github|oidc`, device style:
 * no listener on the user's machine, so it works over SSH. The CLI keeps a
 * random verifier, sends only its SHA-256 to the server, prints the login URL to
 * open and the one-time code to type on the page it opens (so a link someone else
 * started cannot log a stranger's terminal in as you), and polls until the browser
 * login finished; only the holder of the verifier can collect the token, and only once. `drover providers test
 * github|oidc` shares the print-and-poll loop (`waitForBrowser`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DroverClient } from '../client/index.ts';
import type { CliDeps } from '../deps.ts';
import { DroverError } from '../../errors/index.ts';
import { envInteger } from '../../env/index.ts';
import type { CollectedToken, LoginLink } from '../../api-types/index.ts';


export const browserProviders = ['github', 'oidc'] as const;

/**
 * Prints `loginUrl` with `what` ("log in with github"), then calls `poll` every
 * `DROVER_LOGIN_POLL_MS` (2 s) until it answers, for at most
 * `DROVER_LOGIN_TIMEOUT_MS` (10 min); `expired` is the message when time runs out.
 */
export async function waitForBrowser<T>(deps: CliDeps, what: string, link: LoginLink, poll: () => Promise<T | undefined>, expired: (seconds: number) => string): Promise<T> {
  const pollMs = envInteger(deps.env, 'DROVER_LOGIN_POLL_MS', { min: 1, unit: 'milliseconds' }) ?? 2000;
  const timeoutMs = envInteger(deps.env, 'DROVER_LOGIN_TIMEOUT_MS', { min: 1, unit: 'milliseconds' }) ?? 10 * 60_000;
  const code = link.userCode === undefined ? '' : `and type this one-time code there: ${link.userCode}\n\n`;
  deps.stderr.write(`Open this URL in a browser to ${what}:\n\n    ${link.loginUrl}\n\n${code}Waiting for the browser login to finish...\n`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await poll();
    if (answer !== undefined) return answer;
    await sleep(pollMs);
  }
  throw new DroverError('DRV_ERR_LOGIN_EXPIRED', expired(Math.round(timeoutMs / 1000)));
}

/** Runs the flow; `DROVER_LOGIN_POLL_MS` / `DROVER_LOGIN_TIMEOUT_MS` shorten it in tests. */
export async function browserLogin(client: DroverClient, provider: string, deps: CliDeps): Promise<CollectedToken> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const start = await client.request<LoginLink>('POST', `/v1/auth/${provider}/cli-login`, { challenge });
  return waitForBrowser(deps, `log in with ${provider}`, start, async () => {
    let answer: CollectedToken | { status: 'pending' };
    try {
      answer = await client.request<CollectedToken | { status: 'pending' }>('POST', '/v1/auth/cli-token', { requestId: start.requestId, verifier });
    } catch (error) {
      if (error instanceof DroverError && error.code === 'DRV_ERR_LOGIN_EXPIRED') {
        throw new DroverError('DRV_ERR_LOGIN_EXPIRED', 'the browser login was not finished within 10 minutes; run drover login again');
      }
      throw error;
    }
    return 'token' in answer ? answer : undefined;
  }, (seconds) => `the browser login was not finished within ${seconds} s; run drover login again`);
}
