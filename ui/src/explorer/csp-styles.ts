/**
 * The server's CSP (`style-src 'self'`) refuses inline `<style>` elements, and
 * xterm.js's DOM renderer writes its theme and cell-size CSS into such elements.
 * Style sheets built through the CSSOM are not inline markup and CSP lets them
 * apply, so in the pages that open a terminal every `<style>` element created
 * through `document.createElement` becomes a hidden placeholder whose text feeds an
 * adopted CSSStyleSheet. Nothing else in the UI creates style elements.
 */
let installed = false;

export function routeStyleElementsToCssom(doc: Document): void {
  if (installed) return;
  installed = true;
  const create = (tag: string, options?: ElementCreationOptions): HTMLElement => Document.prototype.createElement.call(doc, tag, options);
  const replacement = (tag: string, options?: ElementCreationOptions): HTMLElement => {
    if (tag.toLowerCase() !== 'style') return create(tag, options);
    const holder = create('span');
    holder.hidden = true;
    const sheet = new CSSStyleSheet();
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    let text = '';
    Object.defineProperty(holder, 'textContent', {
      get: () => text,
      set: (value: string | null) => { text = value ?? ''; sheet.replaceSync(text); },
    });
    const remove = holder.remove.bind(holder);
    holder.remove = () => { doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet); remove(); };
    return holder;
  };
  // One signature stands for createElement's overloads: every tag still gets the element it asked for, <style> aside.
  Object.defineProperty(doc, 'createElement', { value: replacement, configurable: true, writable: true });
}
