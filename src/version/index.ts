/** version/: Drover's version, read once from package.json. */
export { droverVersion } from './version.ts';
