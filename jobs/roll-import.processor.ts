import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Services } from '../src/container';
import { AppError } from '../src/platform/errors';
import type { JobCatalog } from '../src/job-catalog';

/** Thin: the import itself is RollImportRunner's. The uploaded file is removed once the import is final. */
export function runRollImport(services: Services) {
  return async ({ importId }: JobCatalog['rolls.import'], attempt: { number: number; of: number }): Promise<void> => {
    const state = await services.rollImports.stateOf(importId);
    if (!state) return;
    const file = services.rollImports.fileOf(importId, state.format);
    if (state.status === 'completed' || state.status === 'failed') {
      // delivered again (a restart, a re-queue at start): the outcome stands, only a file left behind goes
      await rm(file, { force: true });
      return;
    }
    if (!existsSync(file)) {
      await services.rollImportRunner.fail(
        importId,
        new AppError(
          'invalid',
          'FILE_MISSING',
          'the uploaded file is not where the worker reads it (IMPORT_DIR must be shared by API and worker)',
        ),
      );
      return;
    }
    // a file that killed the worker twice is not given a third chance to (the import is failed instead)
    if (!(await services.rollImportRunner.startRun(importId))) {
      await rm(file, { force: true });
      return;
    }
    try {
      await services.rollImportRunner.run(importId, file);
    } catch (e) {
      if (attempt.number < attempt.of) throw e;
      await services.rollImportRunner.fail(
        importId,
        new AppError('internal', 'IMPORT_FAILED', 'the import failed unexpectedly; upload the file again'),
      );
      await rm(file, { force: true });
      throw e;
    } finally {
      // not reached when the process dies: the run stays counted
      await services.rollImportRunner.endRun(importId).catch(() => undefined);
    }
    await rm(file, { force: true });
  };
}
