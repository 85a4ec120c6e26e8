/** `drover server`: runs the server until SIGTERM/SIGINT, then shuts down gracefully. */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { DEFAULT_LISTEN, isWorker, serverConfigFromFlags, startServer, superviseWorkers, type ServerFlags } from '../../server/index.ts';
import { createLogger, resolvedLogFormat } from '../../logging/index.ts';

export function serverCommand(deps: CliDeps): Command {
  return new Command('server')
    .description('run the Drover server (HTTPS; first start creates the CA, serving certificate and admin user)')
    .option('--data-dir <dir>', 'state directory (CA, keys, SQLite database)', './drover-data')
    .option('--listen <host:port>', `address to listen on (default ${DEFAULT_LISTEN}: this machine only; 0.0.0.0:8443 for every interface)`)
    .option('--public-url <url>', 'the https URL browsers, kubeconfigs and agents use (default: https://<listen address>; on 0.0.0.0 the first network address)')
    .option('--db <url>', 'postgres://… for PostgreSQL (default: SQLite in the data dir)')
    .option('--advertise-address <host:port>', 'where other replicas reach this one (default: the --listen address; on 0.0.0.0 the first network address)')
    .option('--workers <n>', 'processes on this host sharing the listener, each a replica (default: one per core with --db postgres://…, 1 with SQLite, which allows no more)')
    .option('--tls-cert-file <file>', 'serving certificate (PEM) instead of the generated one')
    .option('--tls-key-file <file>', 'its private key (PEM)')
    .option('--tls-ca-file <file>', 'the CA to serve at /cacerts with --tls-cert-file')
    .option('--proxy-response-header-timeout <duration>', 'how long a proxied Kubernetes request waits for the cluster to start answering before a 504 (watches, logs and exec are never cut; 0: no limit)', '60s')
    .option('--shutdown-delay <duration>', 'after SIGTERM, how long /readyz answers 503 while everything is still served, for load balancers and Kubernetes endpoints to stop sending new connections here (then in-flight requests finish and it stops)', '0s')
    .option('--agent-image <image>', 'the image the import manifest runs (cluster agent, node agent, kube-api-auth); build it with deploy/build-image.sh (default: DROVER_AGENT_IMAGE, else drover/drover:<version>)')
    .option('--kubernetes-binaries <dir>', 'DIR/<version>/{etcd,etcdutl,kube-apiserver,kube-controller-manager,kube-scheduler,kubelet}: what node agents of provisioned clusters run (docs/provisioning.md)')
    .option('--audit-log <path>', 'write audit.k8s.io/v1 events, one JSON object a line, to this file (- for stdout); see docs/audit.md')
    .option('--audit-log-maxsize <MB>', 'rotate the audit log before it passes this size (0: never)', '100')
    .option('--audit-log-maxbackup <N>', 'rotated audit logs kept (0: all)', '10')
    .option('--audit-log-maxage <days>', 'rotated audit logs older than this are deleted (0: kept)', '30')
    .option('--audit-policy <file>', 'an audit.k8s.io/v1 Policy deciding what is recorded at which level (default: everything at Metadata)')
    .option('--audit-webhook-config <file>', 'a kubeconfig naming the HTTPS receiver audit events are posted to in batches')
    .option('--audit-retention <duration>', 'how long events stay searchable (drover audit list, the Audit page); 0: not stored', '7d')
    .option('--exec-recording <mode>', 'record kubectl exec and attach sessions (asciicast, in <data-dir>/recordings): off, best-effort (let an unrecordable session through with a warning event) or strict (refuse it)', 'best-effort')
    .option('--exec-recording-retention <duration>', 'recordings older than this are deleted (checked hourly); 0: kept', '30d')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: DROVER_LOG_LEVEL, else info)')
    .option('--log-format <format>', 'text, json or auto: text on a terminal, JSON otherwise (default: DROVER_LOG_FORMAT, else auto)')
    .action(async (flags: ServerFlags) => {
      const config = serverConfigFromFlags(flags, deps.env);
      const logger = createLogger({
        name: 'drover-server', level: config.logLevel, format: config.logFormat, ...(deps.stderr === process.stderr ? {} : { destination: deps.stderr }),
      });
      const readableSummary = resolvedLogFormat(config.logFormat, deps.stderr) === 'text';
      // --workers: this process supervises; the workers (this same command, forked) serve.
      const server = config.workers > 1 && !isWorker()
        ? { close: await superviseWorkers(config, logger) }
        : await startServer(config, { logger, readableSummary, announce: (text) => deps.stderr.write(`${text}\n`) });
      await new Promise<void>((resolveStop) => {
        const stop = (signal: NodeJS.Signals): void => {
          logger.info({ signal }, 'shutting down');
          // A second signal means "now".
          process.once(signal, () => process.exit(1));
          server.close().then(resolveStop, (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            resolveStop();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      // A worker's channel to its primary would keep it running after the server stopped.
      if (isWorker()) process.disconnect();
    });
}
