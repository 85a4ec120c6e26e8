/**
 * Imported first by main.ts, for its side effect: every drover process keeps V8's young
 * generation at its starting size (two 1 MiB semi-spaces) instead of letting it grow to
 * 64 MiB. It is for the long-running roles (the server, the agents, kube-api-auth); a
 * short command allocates too little for it to matter either way.
 *
 * Why: a proxy allocates little JavaScript per byte it moves, but every chunk a socket
 * or TLS read hands up is a Buffer whose memory lives outside the JavaScript heap. With
 * large semi-spaces a scavenge hardly ever runs, so dead chunks are not freed by one;
 * their outside memory adds up until V8's external-memory limit forces a full
 * mark-compact of the whole heap. In the reference bench that was one full GC every ten
 * or so LISTs of 1,000 ConfigMaps, over half of the server's CPU per LIST (concurrent
 * marking on V8's worker threads included). Small semi-spaces scavenge every MiB or so,
 * which frees those chunks for about a millisecond each, and the full GCs all but stop
 * (src/tunnel/README.md has the figures).
 *
 * V8 reads the growth factor whenever it resizes the young generation, so it can be set
 * from inside the process, but only stops growth from then on: hence first, before the
 * other modules load. (The semi-space size flags are read only when the heap is set up,
 * which would take a flag on every `node` command line that starts Drover.)
 * young-generation.test.ts checks that this Node still honours it.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');
