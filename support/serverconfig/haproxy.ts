import { HarnessInputError } from '../errors';
import type { PathMap, BackendStub } from './sandbox';
import type { PreparedConfig } from './types';

export async function prepareHaproxy(_file: string, _options: { paths: PathMap; hostnames: readonly string[]; stub: BackendStub }): Promise<PreparedConfig> {
  throw new HarnessInputError('haproxy configuration files: not yet');
}
