/** The authorized cluster endpoint setting (routes in src/kube-api-auth/ace-api.ts). */
import { Type, type Static } from 'typebox';

export const AceSetting = Type.Union([
  Type.Object({ mode: Type.Literal('off') }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('nodes') }, { additionalProperties: false }),
  Type.Object({ mode: Type.Literal('fqdn'), fqdn: Type.String({ minLength: 3, maxLength: 260 }), caPem: Type.Optional(Type.String({ maxLength: 65536 })) }, { additionalProperties: false }),
]);
export type AceSetting = Static<typeof AceSetting>;

export const AceContext = Type.Object({ name: Type.String(), server: Type.String(), caPem: Type.Optional(Type.String()) });
export type AceContext = Static<typeof AceContext>;

/** A cluster's setting with the kubeconfig contexts it yields. */
export const AceView = Type.Object({ setting: AceSetting, contexts: Type.Array(AceContext) });
export type AceView = Static<typeof AceView>;
