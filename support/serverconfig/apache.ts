import { HarnessInputError } from '../errors';
import type { PathMap, BackendStub } from './sandbox';
import type { PreparedConfig } from './types';

export async function prepareApache(_file: string, _options: { paths: PathMap; hostnames: readonly string[]; stub: BackendStub }): Promise<PreparedConfig> {
  throw new HarnessInputError('apache configuration files: not yet');
}
