/**
 * The node command with role checkboxes, as Rancher's custom-cluster page has:
 * each change of roles, name or address changes the command. The command comes
 * from the same builder the server prints it with (src/agent-protocol), so what
 * is copied here is word for word what `drover clusters create --custom` prints.
 */
import { useState } from 'preact/hooks';
import { nodeCommand, nodeRoleNames, type NodeRole } from '../../../src/agent-protocol/index.ts';
import { Code, value } from '../components.tsx';
import type { CustomRegistration } from '../types.ts';

const roleLabels: Record<NodeRole, string> = { etcd: 'etcd', controlplane: 'Control plane', worker: 'Worker' };

export function NodeCommand(props: { registration: CustomRegistration }) {
  const [roles, setRoles] = useState<NodeRole[]>([...nodeRoleNames]);
  const [nodeName, setNodeName] = useState('');
  const [address, setAddress] = useState('');
  const toggle = (role: NodeRole, on: boolean): void => setRoles(on ? [...roles, role] : roles.filter((r) => r !== role));
  return (
    <div class="node-command">
      <fieldset>
        <legend>Roles of the machine you run it on</legend>
        {nodeRoleNames.map((role) => (
          <label key={role} class="check">
            <input type="checkbox" checked={roles.includes(role)} onChange={(e) => toggle(role, e.currentTarget.checked)} />
            {roleLabels[role]}
          </label>
        ))}
      </fieldset>
      <div class="inline-fields">
        <label>Node name (optional)<input value={nodeName} maxLength={63} pattern="[a-z0-9]([a-z0-9.\-]*[a-z0-9])?" title="lower-case letters, digits, dots and dashes"
          onInput={(e) => setNodeName(value(e))} placeholder="the machine's host name" /></label>
        <label>Address (optional)<input value={address} maxLength={45} pattern="[0-9a-fA-F.:]+" title="an IPv4 or IPv6 address"
          onInput={(e) => setAddress(value(e))} placeholder="found by the agent" /></label>
      </div>
      {roles.length === 0 ? <p class="error" role="alert">Choose at least one role for this machine.</p> : (
        <Code label="node command" text={nodeCommand(props.registration, roles, { nodeName: valid(nodeName, /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/), address: valid(address, /^[0-9a-fA-F.:]+$/) })} />
      )}
      <p class="muted small">Run it on each machine (the token in it registers nodes for this cluster: keep it secret). In all, the cluster needs at least one
        etcd and one control-plane node.</p>
    </div>
  );
}

/** Only a well-formed value goes into the command: a stray space or `;` must not reach a shell someone pastes it into. */
function valid(text: string, pattern: RegExp): string {
  return pattern.test(text) ? text : '';
}
