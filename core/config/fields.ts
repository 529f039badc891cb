// Building blocks for config sections: each parser carries the message the operator sees next to the variable.
import { z } from 'zod';

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `expects a whole number from ${min} to ${max}` })
    .int({ error: `expects a whole number from ${min} to ${max}` })
    .min(min, { error: `expects a whole number from ${min} to ${max}` })
    .max(max, { error: `expects a whole number from ${min} to ${max}` });

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expects true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const postgresUrl = () => z.url({ protocol: /^postgres(ql)?$/, error: 'expects a postgres:// URL' });
export const httpUrl = () => z.url({ protocol: /^https?$/, error: 'expects an http(s):// URL' });

/** A JSON array of `item`; `shape` names the fields in the message, e.g. `{name, sha256, scopes}`. */
export function jsonArray<T extends z.ZodType>(item: T, shape: string) {
  const message = `expects a JSON array of ${shape}`;
  return z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
    })
    .pipe(z.array(item, { error: message }));
}
