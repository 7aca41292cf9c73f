import { z } from 'zod';
// Placeholder being replaced by the config work (dispatch of DESIGN.md).
export const dispatchSchema = z.strictObject({});
