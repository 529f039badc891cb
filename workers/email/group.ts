// Which group an email.send job is served under (docs/groups.md) when the caller names none: the first
// recipient's domain, lowercased, or the provider EMAIL_GROUP_PROVIDERS names for that domain (so gmail.com and
// googlemail.com share Google's limits). EMAIL_GROUP_BY=none sends mail ungrouped.
import { MAX_GROUP_LENGTH } from '../../core/groups/option.ts';

export interface EmailGroupConfig {
  EMAIL_GROUP_BY?: 'domain' | 'none';
  EMAIL_GROUP_PROVIDERS?: Record<string, string>;
}

export function emailGroup(to: string | string[], config: EmailGroupConfig): string | undefined {
  if (config.EMAIL_GROUP_BY === 'none') return undefined;
  const first = Array.isArray(to) ? to[0] : to;
  const at = first?.lastIndexOf('@') ?? -1;
  if (!first || at < 0) return undefined;
  const domain = first
    .slice(at + 1)
    .toLowerCase()
    .slice(0, MAX_GROUP_LENGTH);
  return config.EMAIL_GROUP_PROVIDERS?.[domain] ?? domain;
}
