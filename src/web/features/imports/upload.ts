import { csrfHeader, type Schemas } from '../../api/client';
import { ApiError } from '../../api/errors';

export type RollImport = Schemas['RollImport'];

/**
 * Sends a roll file as the API's multipart upload. XMLHttpRequest rather than fetch: only it reports the bytes
 * sent, which a large roll needs for a progress bar. Same origin, so the session cookie goes with it.
 */
export function uploadRoll(file: File, onProgress: (sent: number, total: number) => void): Promise<RollImport> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/roll-imports');
    for (const [name, value] of Object.entries(csrfHeader())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = JSON.parse(xhr.responseText) as unknown;
      } catch {
        body = undefined;
      }
      if (xhr.status === 202) resolve(body as RollImport);
      else reject(ApiError.from(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'upload failed', undefined, undefined));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}
