/**
 * addresses/: `host:port` parsing and formatting, one parser for dial addresses
 * (the tunnel's CONNECT, the agent's allow-list) and listen addresses (`--listen`
 * of the server and of kube-api-auth).
 */
export {
  allowAddresses, formatHostPort, parseHostPort, parseListenAddress, type HostPort, type HostPortOptions,
} from './address.ts';
