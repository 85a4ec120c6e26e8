/** Cluster and project members (users and groups, found by principal search) and projects with their namespaces. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, get, post, q } from '../api.ts';
import { ErrorText, Show, Table, useAction, useLoad, value } from '../components.tsx';
import { isGroup, isProviderUser } from '../principals.ts';
import type { Cluster, Member, Principal, Project, RoleTemplate, User } from '../types.ts';
import type { VisibleNamespace } from '../explorer/kube.ts';

/**
 * A member subject from what was typed or picked: group principals as groups, anything else as a user (id, username or
 * local principal). A provider user principal (`openldap_user://…`, `github_user://…`) is sent as it is: the server
 * confirms it with the provider and creates the user if they never logged in, so a directory user can be added first.
 */
function subjectOf(text: string): { group: string } | { user: string } {
  return isGroup(text) ? { group: text } : { user: text.replace(/^local:\/\//, '') };
}

/** Principal search (GET /v1/principals); without it, what was typed is used as it is. */
function PrincipalInput(props: { value: string; onChange: (v: string) => void }) {
  const [results, setResults] = useState<Principal[]>([]);
  const [searchable, setSearchable] = useState(true);
  useEffect(() => {
    const text = props.value.trim();
    if (!searchable || text.length < 2 || text.includes('://')) { setResults([]); return undefined; }
    const timer = setTimeout(() => {
      get<Principal[]>(`/v1/principals?q=${q(text)}&limit=10`)
        .then(setResults)
        .catch((e: unknown) => { if (e instanceof ApiError && e.status === 404) setSearchable(false); setResults([]); });
    }, 250);
    return () => clearTimeout(timer);
  }, [props.value, searchable]);
  return (
    <label>User or group
      <input list="principal-results" required value={props.value} onInput={(e) => props.onChange(value(e))}
        placeholder={searchable ? 'search, or a username / principal id' : 'username, or a user or group principal id'} />
      <datalist id="principal-results">
        {results.map((p) => <option key={p.id} value={p.kind === 'user' && p.loginName && p.id.startsWith('local://') ? p.loginName : p.id}>{`${p.displayName} (${p.kind}, ${p.provider})`}</option>)}
      </datalist>
      {isProviderUser(props.value.trim()) && <span class="muted small">A provider user: added even if they have not logged in yet.</span>}
    </label>
  );
}

function subjectLabel(m: Member): string {
  return m.subjectKind === 'user' ? (m.username ?? m.subject) : m.subject;
}

/** Whether the UI offers member and project changes; the server decides either way. */
function canManage(user: User, members: Member[] | undefined): boolean {
  return user.globalRole === 'admin'
    || (members ?? []).some((m) => m.projectId === undefined && m.subjectKind === 'user' && m.subject === user.id && m.roleTemplate === 'cluster-owner');
}

export function MembersSection(props: { cluster: Cluster; user: User }) {
  const id = props.cluster.id;
  const members = useLoad(() => get<Member[]>(`/v1/clusters/${q(id)}/members`), [id]);
  const manager = canManage(props.user, members.data);
  const roles = useLoad(() => get<RoleTemplate[]>('/v1/roles'), []);
  const projects = useLoad(() => get<Project[]>(`/v1/clusters/${q(id)}/projects`), [id]);
  const [who, setWho] = useState('');
  const [role, setRole] = useState('');
  const [project, setProject] = useState('');
  const action = useAction();
  const context = project === '' ? 'cluster' : 'project';
  const choices = (roles.data ?? []).filter((r) => r.context === context);

  const add = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      await post(`/v1/clusters/${q(id)}/members`, { ...subjectOf(who.trim()), role: role || (choices[0]?.name ?? ''), ...(project ? { project } : {}) });
      setWho('');
      members.reload();
    });
  };
  const remove = (m: Member): void => action.run(async () => {
    const params = new URLSearchParams({ [m.subjectKind]: m.subject, role: m.roleTemplate, ...(m.projectId ? { project: m.projectId } : {}) });
    await api('DELETE', `/v1/clusters/${q(id)}/members?${params.toString()}`);
    members.reload();
  });

  return (
    <div class="card">
      <h2>Members</h2>
      <Show load={members} empty={(l) => l.length === 0} emptyText="No members yet; admins can always reach the cluster.">
        {(list) => (
          <Table label="Members" head={['Member', 'Kind', 'Role', 'Scope', '']}>
            {list.map((m) => (
              <tr key={m.id}>
                <td>{subjectLabel(m)}</td><td>{m.subjectKind}</td><td>{m.roleTemplate}</td>
                <td>{m.projectId ? `project ${m.projectName ?? m.projectId}` : 'cluster'}</td>
                <td>{manager && <button type="button" class="secondary small" onClick={() => remove(m)} aria-label={`Remove ${subjectLabel(m)} as ${m.roleTemplate}`}>Remove</button>}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      {manager && <form onSubmit={add} class="inline" aria-label="Add a member">
        <PrincipalInput value={who} onChange={setWho} />
        <label>Scope
          <select value={project} onChange={(e) => { setProject(value(e)); setRole(''); }}>
            <option value="">Whole cluster</option>
            {(projects.data ?? []).map((p) => <option key={p.id} value={p.id}>Project {p.name}</option>)}
          </select>
        </label>
        <label>Role
          <select value={role} onChange={(e) => setRole(value(e))}>
            {choices.map((r) => <option key={r.name} value={r.name}>{r.displayName || r.name}</option>)}
          </select>
        </label>
        <button type="submit" disabled={action.busy}>Add member</button>
      </form>}
      <ErrorText error={action.error} />
    </div>
  );
}

export function ProjectsSection(props: { cluster: Cluster; user: User }) {
  const id = props.cluster.id;
  const projects = useLoad(() => get<Project[]>(`/v1/clusters/${q(id)}/projects`), [id]);
  const members = useLoad(() => get<Member[]>(`/v1/clusters/${q(id)}/members`), [id]);
  const manager = canManage(props.user, members.data);
  // Drover's list of what the user can see: a project member may not list namespaces, but sees their project's.
  // Asked only of an active cluster: one being provisioned or restored cannot answer, and the page says so instead.
  const live = props.cluster.state === 'active';
  const namespaces = useLoad(() => (live ? get<VisibleNamespace[]>(`/v1/clusters/${q(id)}/namespaces`) : Promise.resolve([])), [id, props.cluster.state]);
  const [name, setName] = useState('');
  const [move, setMove] = useState<{ project: string; namespace: string }>({ project: '', namespace: '' });
  const [fresh, setFresh] = useState<{ project: string; name: string }>({ project: '', name: '' });
  const action = useAction();
  // Project owners may create namespaces in their own projects (the server checks again).
  const owned = (projects.data ?? []).filter((p) => manager || (members.data ?? []).some((m) => m.projectId === p.id && m.subjectKind === 'user' && m.subject === props.user.id && m.roleTemplate === 'project-owner'));
  const inProject = (p: Project): string[] => (namespaces.data ?? []).filter((n) => n.projectId === p.id).map((n) => n.name);

  const create = (e: Event): void => {
    e.preventDefault();
    action.run(async () => { await post(`/v1/clusters/${q(id)}/projects`, { name }); setName(''); projects.reload(); });
  };
  const moveNamespace = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      await post(`/v1/clusters/${q(id)}/projects/${q(move.project)}/namespaces`, { namespace: move.namespace });
      setMove({ project: move.project, namespace: '' });
      namespaces.reload();
    });
  };
  const createNamespace = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      await post(`/v1/clusters/${q(id)}/namespaces`, { name: fresh.name, project: fresh.project });
      setFresh({ project: fresh.project, name: '' });
      namespaces.reload();
    });
  };
  return (
    <div class="card">
      <h2>Projects</h2>
      {namespaces.error !== undefined && <p class="muted">Namespaces are not shown: {namespaces.error}</p>}
      {!live && <p class="muted">Namespaces show once the cluster is active.</p>}
      <Show load={projects} empty={(l) => l.length === 0} emptyText="No projects in this cluster.">
        {(list) => (
          <Table label="Projects" head={['Project', 'Namespaces']}>
            {list.map((p) => <tr key={p.id}><td>{p.name}<div class="muted small">{p.id}</div></td><td>{inProject(p).join(', ') || '—'}</td></tr>)}
          </Table>
        )}
      </Show>
      {manager && <form onSubmit={create} class="inline" aria-label="Create a project">
        <label>New project<input required maxLength={63} value={name} onInput={(e) => setName(value(e))} /></label>
        <button type="submit" disabled={action.busy}>Create project</button>
      </form>}
      {manager && (projects.data ?? []).length > 0 && (
        <form onSubmit={moveNamespace} class="inline" aria-label="Move a namespace into a project">
          <label>Namespace<input required value={move.namespace} onInput={(e) => setMove({ ...move, namespace: value(e) })} /></label>
          <label>Into project
            <select required value={move.project} onChange={(e) => setMove({ ...move, project: value(e) })}>
              <option value="">Choose…</option>
              {(projects.data ?? []).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
          </label>
          <button type="submit" class="secondary" disabled={action.busy}>Move namespace</button>
        </form>
      )}
      {owned.length > 0 && (
        <form onSubmit={createNamespace} class="inline" aria-label="Create a namespace in a project">
          <label>New namespace<input required pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" maxLength={63} value={fresh.name}
            title="lower-case letters, digits and dashes" onInput={(e) => setFresh({ ...fresh, name: value(e) })} /></label>
          <label>In project
            <select required value={fresh.project} onChange={(e) => setFresh({ ...fresh, project: value(e) })}>
              <option value="">Choose…</option>
              {owned.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
          </label>
          <button type="submit" disabled={action.busy}>Create namespace</button>
        </form>
      )}
      <ErrorText error={action.error} />
    </div>
  );
}
