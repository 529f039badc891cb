// A config section: the variables one part of Conveyor reads (a zod shape) and the checks that span
// variables. parseSections reads the environment against any list of sections and reports every
// problem at once: bad values first, then the cross-field checks whose variables all parsed.
import type { z } from 'zod';

export interface ConfigProblem {
  variable: string;
  message: string;
}

export interface ConfigCheck<C> {
  /** the variable the problem is reported on */
  variable: keyof C & string;
  /** every variable the check reads (it is skipped when one of them is invalid: that one is reported instead) */
  reads: (keyof C & string)[];
  /** the message when the check fails, else undefined */
  problem(config: C): string | undefined;
}

export interface ConfigSection<S extends z.ZodRawShape = z.ZodRawShape, C = unknown> {
  name: string;
  shape: S;
  checks: ConfigCheck<C>[];
  /** fills values derived from the raw input once the section parsed (e.g. QUEUE_ENGINE from REDIS_URL) */
  derive?(values: Record<string, unknown>, input: Record<string, string>): void;
}

/** The values of a section's shape. */
export type SectionValues<S extends z.ZodRawShape> = z.output<z.ZodObject<S>>;

/** `C` is what the checks read: this section's values plus whatever they compare against. */
export function defineSection<S extends z.ZodRawShape, C = SectionValues<S>>(
  name: string,
  shape: S,
  checks: ConfigCheck<C>[] = [],
  derive?: ConfigSection['derive'],
): ConfigSection<S, C> {
  return { name, shape, checks, derive };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

/** Empty strings count as unset; variables no section reads are ignored. */
function inputFor(sections: ConfigSection<z.ZodRawShape, never>[], env: NodeJS.ProcessEnv): Record<string, string> {
  const input: Record<string, string> = {};
  for (const section of sections) {
    for (const key of Object.keys(section.shape)) {
      const v = env[key];
      if (v !== undefined && v !== '') input[key] = v;
    }
  }
  return input;
}

/** Parse the environment against `sections`. Throws one ConfigError listing every problem. */
export function parseSections(sections: ConfigSection<z.ZodRawShape, never>[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const input = inputFor(sections, env);
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const invalid = new Set<string>();
  for (const section of sections) {
    for (const [variable, schema] of Object.entries(section.shape)) {
      const parsed = (schema as z.ZodType).safeParse(input[variable]);
      if (parsed.success) {
        values[variable] = parsed.data;
        continue;
      }
      invalid.add(variable);
      for (const issue of parsed.error.issues) {
        const rest = issue.path.join('.');
        problems.push({
          variable,
          message: rest ? `${rest}: ${issue.message}` : `${issue.message} (got ${JSON.stringify(input[variable])})`,
        });
      }
    }
  }
  for (const section of sections) {
    if (!Object.keys(section.shape).some((k) => invalid.has(k))) section.derive?.(values, input);
  }
  for (const section of sections) {
    for (const check of section.checks as ConfigCheck<Record<string, unknown>>[]) {
      if (check.reads.some((k) => invalid.has(k))) continue;
      const message = check.problem(values);
      if (message) problems.push({ variable: check.variable, message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values;
}
