// A local ESLint rule for the folder pyramid of src/ (docs/architecture.md, "Folder pyramid").
// Each top-level folder of src/ sits in one layer, and may import only folders in
// strictly lower layers, and only through their index.ts. A strict order makes a
// folder-level import cycle impossible, and checking it needs only the import at hand
// (no whole-tree scan, unlike import-x/no-cycle), so it costs nothing on a big tree.
// Type-only imports count: they tie the folders together just the same.
import path from 'node:path';

/** @param {string} file @param {string} srcRoot */
const topFolder = (file, srcRoot) => {
  const rel = path.relative(srcRoot, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
};

/** @type {import('eslint').Rule.RuleModule} */
export const folderLayers = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ folders import only lower layers of the folder pyramid, and only through their index.ts' },
    schema: [{
      type: 'object',
      properties: {
        srcRoot: { type: 'string' },
        layers: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        // Test files may import upwards (a unit test can start the whole server); deep imports stay refused.
        upwardAllowedIn: { type: 'string' },
      },
      required: ['srcRoot', 'layers'],
      additionalProperties: false,
    }],
    messages: {
      deep: 'import of {{target}} reaches past {{folder}}/index.ts: import it from {{folder}}/index.ts (export it there if {{folder}} means to share it)',
      upward: '{{from}}/ (layer {{fromLayer}}) may not import {{to}}/ (layer {{toLayer}}): a folder imports only lower layers of the pyramid in eslint.config.js; move the shared concept down, or pass it in from src/server/wire.ts',
      unknown: 'folder src/{{folder}}/ is not in the folder pyramid: add it to a layer in eslint.config.js and to docs/architecture.md',
    },
  },
  create(context) {
    const { srcRoot, layers, upwardAllowedIn } = context.options[0];
    const root = path.resolve(context.cwd, srcRoot);
    const layerOf = new Map(layers.flatMap((folders, i) => folders.map((f) => [f, i])));
    const file = context.filename;
    const from = topFolder(file, root);
    if (from === undefined) return {};
    const upwardAllowed = upwardAllowedIn !== undefined && new RegExp(upwardAllowedIn).test(file);
    let reportedUnknownSelf = false;

    /** @param {import('estree').Node | null | undefined} source */
    const check = (source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source.value);
      const to = topFolder(target, root);
      if (to === undefined || to === from) return;
      if (path.relative(path.join(root, to), target) !== 'index.ts') {
        context.report({ node: source, messageId: 'deep', data: { target: source.value, folder: to } });
      }
      if (upwardAllowed) return;
      for (const folder of [from, to]) {
        if (layerOf.has(folder)) continue;
        if (folder === from && reportedUnknownSelf) continue;
        if (folder === from) reportedUnknownSelf = true;
        context.report({ node: source, messageId: 'unknown', data: { folder } });
        return;
      }
      const fromLayer = layerOf.get(from), toLayer = layerOf.get(to);
      if (toLayer >= fromLayer) context.report({ node: source, messageId: 'upward', data: { from, to, fromLayer: String(fromLayer), toLayer: String(toLayer) } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export default { rules: { 'folder-layers': folderLayers } };
