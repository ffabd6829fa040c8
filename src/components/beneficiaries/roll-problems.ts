import { inAreaScope, type Principal } from '../../platform/security';

/** What every reader of PERSON_OUT_OF_SCOPE is told: nothing of where, or whether, the person is on the roll. */
export const PERSON_OUT_OF_SCOPE_MESSAGE = 'this row cannot be accepted for your area; ask an officer whose scope covers the person';

export interface ProblemView {
  row: number;
  column: string | null;
  code: string;
  message: string;
}

/** A stored problem with the area it concerns (PERSON_OUT_OF_SCOPE: where the person is on the roll). */
export interface ProblemRow {
  row_no: number;
  column_name: string | null;
  code: string;
  message: string;
  area_path: string | null;
  area_code: string | null;
  area_name: string | null;
}

export const PROBLEM_COLUMNS = `pr.row_no, pr.column_name, pr.code, pr.message, pa.path AS area_path, pa.code AS area_code, pa.name AS area_name`;
export const PROBLEM_FROM = 'roll_import_problems pr LEFT JOIN areas pa ON pa.id = pr.area_id';

/** The problem as this reader may read it: why a row was refused in another area only for a scope that covers that area. */
export function problemView(p: Principal, r: ProblemRow): ProblemView {
  let message = r.message;
  if (r.code === 'PERSON_OUT_OF_SCOPE' && r.area_path !== null && inAreaScope(p, r.area_path)) {
    message = `this person is on the roll of ${r.area_name} (${r.area_code}), outside the area of this import; import the row from a scope that covers both, or move the person first`;
  }
  return { row: r.row_no, column: r.column_name, code: r.code, message };
}
