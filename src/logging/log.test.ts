import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, type LogSink } from './log.ts';
import { formatLogLine } from './log-text.ts';

function sink(isTTY: boolean): LogSink & { text: string } {
  const s = { text: '', isTTY, write(chunk: string) { s.text += chunk; return true; } };
  return s;
}

describe('log format', () => {
  it('writes readable lines to a terminal and JSON elsewhere (auto)', () => {
    const tty = sink(true);
    createLogger({ destination: tty, format: 'auto' }).info({ cluster: 'c-1', url: 'https://x y' }, 'cluster up');
    const esc = '\u001b';
    assert.match(tty.text, /^\d\d:\d\d:\d\d\.\d{3} /);
    assert.ok(tty.text.endsWith(` ${esc}[32mINFO ${esc}[0m cluster up cluster=c-1 url="https://x y"\n`), tty.text);
    const pipe = sink(false);
    createLogger({ destination: pipe, format: 'auto' }).info({ cluster: 'c-1' }, 'cluster up');
    assert.equal((JSON.parse(pipe.text) as { msg: string; cluster: string }).cluster, 'c-1');
  });

  it('obeys an explicit format either way, and still redacts secrets in text', () => {
    const tty = sink(true);
    createLogger({ destination: tty, format: 'json' }).warn({ token: 'token-a:secret' }, 'x');
    assert.equal((JSON.parse(tty.text) as { token: string }).token, '[redacted]');
    const pipe = sink(false);
    createLogger({ destination: pipe, format: 'text' }).warn({ password: 'hunter2' }, 'login');
    assert.ok(pipe.text.includes('WARN  login password=[redacted]'), pipe.text);
    assert.ok(!pipe.text.includes('hunter2'));
  });

  it('prints an error\'s stack under its line and passes non-JSON through', () => {
    const line = formatLogLine(JSON.stringify({ level: 50, time: '2026-12-06T21:00:00.000Z', msg: 'failed', err: { message: 'boom', stack: 'Error: boom\n    at x' } }));
    assert.equal(line, '21:00:00.000 ERROR failed\n    Error: boom\n        at x\n');
    assert.equal(formatLogLine('not json'), 'not json');
  });

  it('respects the level', () => {
    const out = sink(false);
    const logger = createLogger({ destination: out, level: 'warn', format: 'json' });
    logger.info('hidden');
    logger.warn('shown');
    assert.equal(out.text.trim().split('\n').length, 1);
  });
});
