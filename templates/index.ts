// The template registry. Each template is a folder here:
//   template.mjml  the HTML part (MJML, compiled once at boot, strict, includes off)
//   subject.txt    the subject line
//   text.txt       the plain-text part
//   sample.json    sample vars (previews, tests, the boot self-check)
//   vars.ts        the zod schema of its vars (+ optional display values)
// Placeholders are `{{name}}` (see core/email/placeholders.ts). To add a template: make the folder and
// add one line below. This module is light (zod only): the producers' catalog imports it.
import deadLetterDigest from './dead-letter-digest/vars.ts';
import passwordReset from './password-reset/vars.ts';
import reportReady from './report-ready/vars.ts';
import welcome from './welcome/vars.ts';

export const templateDefinitions = {
  welcome,
  'password-reset': passwordReset,
  'report-ready': reportReady,
  'dead-letter-digest': deadLetterDigest,
} as const;

export type TemplateName = keyof typeof templateDefinitions;
export const templateNames = Object.keys(templateDefinitions) as TemplateName[];

export function isTemplateName(name: unknown): name is TemplateName {
  return typeof name === 'string' && Object.hasOwn(templateDefinitions, name);
}

/** Folder of a template's files. */
export const templateDir = (name: TemplateName) => new URL(`./${name}/`, import.meta.url);
