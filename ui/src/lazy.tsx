/**
 * Code only some pages use (the explorer, the YAML editor, terminals) loads as its
 * own chunk the first time a page renders it, so the login and cluster pages stay small.
 */
import { useEffect, useState } from 'preact/hooks';
import type { FunctionComponent } from 'preact';
import { ErrorText } from './components.tsx';

export function lazyComponent<P extends object>(load: () => Promise<FunctionComponent<P>>, what: string): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | undefined;
  return function Lazy(props: P) {
    const [component, setComponent] = useState<{ c: FunctionComponent<P> } | undefined>(loaded ? { c: loaded } : undefined);
    const [error, setError] = useState<string | undefined>(undefined);
    useEffect(() => {
      if (component) return;
      load().then((c) => { loaded = c; setComponent({ c }); })
        .catch(() => setError(`Could not load the ${what}: reload the page (the server may have been upgraded)`));
    }, []);
    if (error !== undefined) return <ErrorText error={error} />;
    if (!component) return <p class="muted" role="status">Loading…</p>;
    const C = component.c;
    return <C {...props} />;
  };
}
