/**
 * Runs a node's planned processes and keeps them running: each in its own process
 * group (so stopping one stops what it started), its output in `log/<name>.log`,
 * its pid in `run/pids.json` so that a restarted node agent first stops what its
 * previous run left behind. A process that exits on its own is restarted after a
 * growing wait (1 s to 30 s), and the exit is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlannedProcess } from './plan.ts';

export interface SupervisorOptions {
  dataDir: string;
  /** Full path of a planned binary, or how to run `drover` itself. */
  command(process: PlannedProcess): { file: string; args: string[] };
  /** A supervised process exited by itself (it is restarted after `retryInMs`). */
  onExit(name: string, how: string, retryInMs: number): void;
}

interface Running { spec: PlannedProcess; child: ChildProcess; stopping: boolean; restarts: number; timer?: NodeJS.Timeout }

/** How one process stopped. */
export interface ProcessStop { name: string; ms: number; killed: boolean }

export class Supervisor {
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: SupervisorOptions) {}

  /** Stops the process groups a previous run recorded (SIGKILL: their state is on disk). */
  killLeftovers(): void {
    for (const pid of Object.values(this.readPids())) signalGroup(pid, 'SIGKILL');
    this.writePids();
  }

  /** Starts `spec`; resolves at once (health is the caller's check). `exited()` tells if it died meanwhile. */
  start(spec: PlannedProcess): void {
    const entry: Running = { spec, child: this.spawn(spec), stopping: false, restarts: 0 };
    this.running.set(spec.name, entry);
    this.watch(entry);
    this.writePids();
  }

  /** Why the process is not running now, or undefined while it is. */
  exited(name: string): string | undefined {
    const entry = this.running.get(name);
    if (!entry) return `${name} is not started`;
    const { child } = entry;
    if (child.exitCode !== null || child.signalCode !== null) return `${name} exited (${child.signalCode ?? `code ${child.exitCode}`}); see ${this.logFile(name)}`;
    return undefined;
  }

  logFile(name: string): string {
    return join(this.options.dataDir, 'log', `${name}.log`);
  }

  /**
   * Stops every process, last started first: SIGTERM, then SIGKILL after `graceMs`.
   * Resolves with how long each took and whether it needed SIGKILL (an upgrade's stop
   * time is mostly one slow process: this names it).
   */
  async stopAll(graceMs = 10_000): Promise<ProcessStop[]> {
    const entries = [...this.running.values()].reverse();
    this.running.clear();
    const stops: ProcessStop[] = [];
    for (const entry of entries) {
      entry.stopping = true;
      clearTimeout(entry.timer);
      const started = Date.now();
      const killed = await stopGroup(entry.child, graceMs);
      stops.push({ name: entry.spec.name, ms: Date.now() - started, killed });
    }
    this.writePids();
    return stops;
  }

  private spawn(spec: PlannedProcess): ChildProcess {
    // First: the node may refuse the process's arguments (kubelet-local.ts), before any file is opened.
    const { file, args } = this.options.command(spec);
    mkdirSync(join(this.options.dataDir, 'log'), { recursive: true });
    const log = openSync(this.logFile(spec.name), 'a');
    const child = spawn(file, args, { cwd: this.options.dataDir, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.on('error', () => undefined);
    return child;
  }

  private watch(entry: Running): void {
    entry.child.once('exit', (code, signal) => {
      if (entry.stopping || this.running.get(entry.spec.name) !== entry) return;
      entry.restarts += 1;
      const retryInMs = Math.min(30_000, 1000 * 2 ** Math.min(entry.restarts - 1, 5));
      this.options.onExit(entry.spec.name, signal ?? `code ${code}`, retryInMs);
      entry.timer = setTimeout(() => {
        if (entry.stopping) return;
        entry.child = this.spawn(entry.spec);
        this.watch(entry);
        this.writePids();
      }, retryInMs);
      entry.timer.unref();
    });
  }

  private pidsFile(): string {
    return join(this.options.dataDir, 'run', 'pids.json');
  }

  private readPids(): Record<string, number> {
    if (!existsSync(this.pidsFile())) return {};
    try {
      return JSON.parse(readFileSync(this.pidsFile(), 'utf8')) as Record<string, number>;
    } catch {
      return {};
    }
  }

  private writePids(): void {
    mkdirSync(join(this.options.dataDir, 'run'), { recursive: true });
    const pids = Object.fromEntries([...this.running].flatMap(([name, e]) => (e.child.pid ? [[name, e.child.pid]] : [])));
    writeFileSync(this.pidsFile(), JSON.stringify(pids));
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves true when the process did not exit within `graceMs` of SIGTERM and was killed. */
async function stopGroup(child: ChildProcess, graceMs: number): Promise<boolean> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM');
  let killed = false;
  const timer = setTimeout(() => { killed = true; signalGroup(pid, 'SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(timer);
  // Whatever the process started in its group goes with it.
  signalGroup(pid, 'SIGKILL');
  return killed;
}
