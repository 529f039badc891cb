import { z } from 'zod';
import { defineTemplate, formatUtc, linkUrl } from '../define.ts';

export default defineTemplate({
  vars: z.strictObject({
    reportName: z.string().trim().min(1).max(200),
    /** the signed download link */
    url: linkUrl(),
    /** when the link stops working (ISO-8601) */
    expiresAt: z.iso.datetime({ offset: true, error: 'expects an ISO-8601 date-time' }),
  }),
  view: (v) => ({ expiresAtText: formatUtc(v.expiresAt) }),
});
