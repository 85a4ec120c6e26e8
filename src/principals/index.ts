/**
 * principals/: which principal URIs are groups, one rule for the server (the groups
 * the proxy impersonates, the groups kube-api-auth answers with) and the web UI, which
 * imports it as is: it imports nothing, so the bundle gets only these lines.
 */
export { groupPrincipalIds, isGroupPrincipal } from './principal.ts';
