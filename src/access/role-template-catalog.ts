/**
 * The set of role templates a server knows, validated as a whole: names are DNS
 * labels, rules are valid, every inherited template exists with the same context,
 * and inheritance has no cycle. A catalog is immutable; `with` / `without` return
 * a new one, so a half-applied change is never visible. `resolve` flattens a
 * template's inheritance into one canonical rule list: that list is what lands
 * downstream in one ClusterRole, so no aggregation controller is relied on.
 */
import { DroverError } from '../errors/index.ts';
import { builtinRoleTemplates } from './builtin-role-templates.ts';
import { normalizeRules, validateRule } from './policy-rules.ts';
import type { PolicyRule, RoleTemplate, RoleTemplateContext } from './types.ts';

/** Templates become object names and label values (`drover-rt-<name>`), so they must stay short DNS labels. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;

export interface ResolvedRoleTemplate {
  template: RoleTemplate;
  /** Own and inherited rules, canonical (sorted, de-duplicated). */
  rules: PolicyRule[];
  /** Every template whose rules are included, this one first. */
  includes: string[];
}

export class RoleTemplateCatalog {
  private readonly templates: ReadonlyMap<string, RoleTemplate>;
  private readonly resolved = new Map<string, ResolvedRoleTemplate>();

  private constructor(templates: ReadonlyMap<string, RoleTemplate>) {
    this.templates = templates;
    for (const name of templates.keys()) this.resolve(name);
  }

  /** A catalog of the given templates; throws on the first invalid one or on a cycle. */
  static from(templates: readonly RoleTemplate[]): RoleTemplateCatalog {
    const byName = new Map<string, RoleTemplate>();
    for (const t of templates) {
      validateTemplateShape(t);
      if (byName.has(t.name)) throw new DroverError('DRV_ERR_CONFLICT', `role template "${t.name}" is defined twice`);
      byName.set(t.name, structuredClone(t));
    }
    return new RoleTemplateCatalog(byName);
  }

  /** The built-ins plus `custom` templates. */
  static withBuiltins(custom: readonly RoleTemplate[] = []): RoleTemplateCatalog {
    return RoleTemplateCatalog.from([...builtinRoleTemplates(), ...custom]);
  }

  list(): RoleTemplate[] {
    return [...this.templates.values()].map((t) => structuredClone(t));
  }

  get(name: string): RoleTemplate | undefined {
    const t = this.templates.get(name);
    return t === undefined ? undefined : structuredClone(t);
  }

  /** A new catalog with `template` added or replaced; built-ins cannot be replaced. */
  with(template: RoleTemplate): RoleTemplateCatalog {
    const existing = this.templates.get(template.name);
    if (existing?.builtin) throw new DroverError('DRV_ERR_CONFLICT', `role template "${template.name}" is built in and cannot be replaced`);
    return RoleTemplateCatalog.from([...[...this.templates.values()].filter((t) => t.name !== template.name), template]);
  }

  /** A new catalog without `name`; refuses built-ins and templates others inherit. Bindings are the caller's to check. */
  without(name: string): RoleTemplateCatalog {
    const existing = this.templates.get(name);
    if (!existing) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${name}"`);
    if (existing.builtin) throw new DroverError('DRV_ERR_CONFLICT', `role template "${name}" is built in and cannot be deleted`);
    const heirs = [...this.templates.values()].filter((t) => t.inherits.includes(name)).map((t) => t.name);
    if (heirs.length > 0) throw new DroverError('DRV_ERR_CONFLICT', `role template "${name}" is inherited by ${heirs.join(', ')}; change those first`);
    return new RoleTemplateCatalog(new Map([...this.templates].filter(([n]) => n !== name)));
  }

  /** The template with its inheritance flattened. Throws NOT_FOUND for an unknown name. */
  resolve(name: string): ResolvedRoleTemplate {
    const cached = this.resolved.get(name);
    if (cached) return cached;
    const includes = this.walk(name, []);
    const rules = normalizeRules(includes.flatMap((n) => this.mustGet(n).rules));
    const result: ResolvedRoleTemplate = { template: this.mustGet(name), rules, includes };
    this.resolved.set(name, result);
    return result;
  }

  /**
   * Refuses a new binding to `name` in `context`: unknown template (NOT_FOUND),
   * wrong context (UNPROCESSABLE) or locked (ROLE_TEMPLATE_LOCKED).
   */
  assertBindable(name: string, context: RoleTemplateContext): ResolvedRoleTemplate {
    const t = this.templates.get(name);
    if (!t) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${name}"; see "drover roles list"`);
    if (t.context !== context) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `role template "${name}" is a ${t.context} role and cannot be bound on a ${context}`);
    }
    if (t.locked) throw new DroverError('DRV_ERR_ROLE_TEMPLATE_LOCKED', `role template "${name}" is locked and accepts no new bindings; unlock it or pick another`);
    return this.resolve(name);
  }

  private mustGet(name: string): RoleTemplate {
    const t = this.templates.get(name);
    if (!t) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${name}"`);
    return t;
  }

  /** Depth-first over `inherits`, refusing cycles and context mixes; returns every included name once. */
  private walk(name: string, path: string[]): string[] {
    if (path.includes(name)) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `role template inheritance has a cycle: ${[...path, name].join(' -> ')}`);
    }
    const t = this.templates.get(name);
    if (!t) {
      const from = path.at(-1);
      if (from === undefined) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${name}"`);
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `role template "${from}" inherits "${name}", which does not exist`);
    }
    const parent = path.length > 0 ? this.templates.get(path.at(-1) ?? '') : undefined;
    if (parent && parent.context !== t.context) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `${parent.context} role template "${parent.name}" cannot inherit ${t.context} role template "${name}"`);
    }
    const seen = new Set<string>([name]);
    for (const heir of t.inherits) for (const n of this.walk(heir, [...path, name])) seen.add(n);
    return [...seen];
  }
}

function validateTemplateShape(t: RoleTemplate): void {
  const where = `role template "${String(t.name)}"`;
  if (typeof t.name !== 'string' || !NAME.test(t.name)) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `${where}: the name must be a DNS label of at most 50 characters (a-z, 0-9, "-")`);
  }
  if (t.context !== 'cluster' && t.context !== 'project') throw new DroverError('DRV_ERR_UNPROCESSABLE', `${where}: context must be "cluster" or "project"`);
  if (!Array.isArray(t.rules) || !Array.isArray(t.inherits)) throw new DroverError('DRV_ERR_UNPROCESSABLE', `${where}: rules and inherits must be lists`);
  if (t.inherits.includes(t.name)) throw new DroverError('DRV_ERR_UNPROCESSABLE', `role template inheritance has a cycle: ${t.name} -> ${t.name}`);
  t.rules.forEach((r, i) => validateRule(r, `${where} rule ${i + 1}`));
  if (t.context === 'project' && t.rules.some((r) => (r.nonResourceURLs ?? []).length > 0)) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `${where}: nonResourceURLs apply only to cluster role templates`);
  }
}
