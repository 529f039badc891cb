import { z } from 'zod';
import { defineTemplate, linkUrl } from '../define.ts';

export default defineTemplate({
  vars: z.strictObject({
    name: z.string().trim().min(1).max(100),
    resetUrl: linkUrl(),
    expiresInMinutes: z
      .int()
      .min(1)
      .max(7 * 24 * 60),
  }),
});
