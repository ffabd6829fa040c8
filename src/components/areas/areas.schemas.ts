import { z } from 'zod';
import { boolQuery } from '../../platform/http/schemas';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { AREA_LEVELS } from './areas.service';

export const areaLevel = z.enum(AREA_LEVELS);

export const areaSchema = z
  .object({
    id: z.number().int(),
    code: z.string().describe('Official code of the unit (GSO list)'),
    name: z.string(),
    level: areaLevel,
    parentId: z.number().int().nullable(),
    path: z.string().describe('Ids from the root, e.g. /1/4/17/'),
    depth: z.number().int(),
    active: z.boolean(),
    childCount: z.number().int(),
  })
  .meta({ id: 'Area' });

export const areaDetailSchema = areaSchema
  .extend({ ancestors: z.array(z.object({ id: z.number().int(), code: z.string(), name: z.string(), level: areaLevel })) })
  .meta({ id: 'AreaDetail' });

const code = z.string().regex(/^[0-9A-Za-z]{1,16}$/, 'must be 1-16 letters or digits');
const name = z.string().trim().min(1).max(200);

export const createAreaBody = z.strictObject({
  code,
  name,
  level: areaLevel,
  parentId: z.number().int().positive().nullable(),
});

export const updateAreaBody = z
  .strictObject({
    code: code.optional(),
    name: name.optional(),
    level: areaLevel.optional(),
    parentId: z.number().int().positive().nullable().optional().describe('Move the area (and its subtree) under another'),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const listAreasQuery = z.strictObject({
  ...pageQuery,
  parentId: z.coerce.number().int().positive().optional(),
  roots: boolQuery.optional().describe('Only top-level areas'),
  under: z.coerce.number().int().positive().optional().describe('Only areas in this subtree (itself included)'),
  level: areaLevel.optional(),
  active: boolQuery.optional(),
  q: z.string().min(1).max(100).optional().describe('Part of the code or name; tones, marks and đ optional (dong xuan finds Đồng Xuân)'),
});

export const areaPage = pageOf(areaSchema).meta({ id: 'AreaPage' });
