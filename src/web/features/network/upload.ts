import { csrfHeader, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';

export type PointImport = Schemas['CashOutPointImport'];

/** Sends a registry file as the API's multipart upload; the import runs while the request waits. */
export async function uploadPoints(file: File): Promise<PointImport> {
  const form = new FormData();
  form.append('file', file);
  let res: Response;
  try {
    res = await fetch('/api/v1/cash-out-point-imports', { method: 'POST', body: form, headers: csrfHeader(), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'upload failed', undefined, undefined);
  }
  const body = (await res.json().catch(() => undefined)) as unknown;
  if (res.status !== 201) throw ApiError.from(res.status, body);
  return body as PointImport;
}
