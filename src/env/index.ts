/**
 * env/: reading numeric environment knobs strictly, so a typo stops the start
 * naming the variable instead of becoming NaN.
 */
export { envInteger } from './env.ts';
