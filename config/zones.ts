import { z } from 'zod';
// Placeholder being replaced by the config work (zones of DESIGN.md).
export const zoneSchema = z.strictObject({ id: z.string() });
