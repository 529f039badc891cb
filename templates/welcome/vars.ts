import { z } from 'zod';
import { defineTemplate, linkUrl } from '../define.ts';

export default defineTemplate({
  vars: z.strictObject({
    name: z.string().trim().min(1).max(100),
    loginUrl: linkUrl(),
    product: z.string().min(1).max(60).optional(),
  }),
  view: (v) => ({ product: v.product ?? 'Conveyor' }),
});
