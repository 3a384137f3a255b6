import {
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
  ServiceError,
  type TLSConfig,
} from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, type Config } from './config';
import { searchAttributes } from '../workflows/contracts';

/**
 * The SDK retries a failed call from a timer; a retry whose timer fires after
 * the connection was closed throws "Channel has been shut down" inside that
 * timer, an uncaught exception (it fails a test run; it would crash a process
 * that closes its connection and keeps running). These retries stop once
 * closing has begun, and `drain()` waits for those already scheduled to fire.
 */
function drainableRetries(maxAttempts: number | undefined) {
  const base = defaultGrpcRetryOptions(maxAttempts ? { maxAttempts } : {});
  let closing = false;
  let lastScheduled = 0;
  const interceptor = makeGrpcRetryInterceptor({
    retryableDecider: (attempt, status) => !closing && base.retryableDecider(attempt, status),
    delayFunction: (attempt, status) => {
      const ms = base.delayFunction(attempt, status);
      lastScheduled = Math.max(lastScheduled, Date.now() + ms);
      return ms;
    },
  });
  return {
    interceptor,
    async drain() {
      closing = true;
      const wait = lastScheduled - Date.now();
      if (wait > 0) await sleep(wait + 20);
    },
  };
}

/** Where Temporal is and how to authenticate to it: the part of the configuration every connection needs. */
export type TemporalEndpoint = Pick<Config['temporal'], 'address' | 'tls' | 'apiKey'>;

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new ConfigError(`${variable} names a file that cannot be read: ${path}`, { cause });
  }
}

/**
 * The address, TLS and API key options that the client's `Connection` and the
 * worker's `NativeConnection` take alike, with certificate files read now.
 */
export function temporalConnectionOptions(endpoint: TemporalEndpoint): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const { tls, apiKey } = endpoint;
  if (!tls) return { address: endpoint.address };
  const options: TLSConfig = {};
  if (tls.serverName) options.serverNameOverride = tls.serverName;
  if (tls.serverCaPath)
    options.serverRootCACertificate = readPem('TEMPORAL_TLS_CA', tls.serverCaPath);
  if (tls.clientCertPath && tls.clientKeyPath) {
    options.clientCertPair = {
      crt: readPem('TEMPORAL_TLS_CERT', tls.clientCertPath),
      key: readPem('TEMPORAL_TLS_KEY', tls.clientKeyPath),
    };
  }
  return { address: endpoint.address, tls: options, ...(apiKey ? { apiKey } : {}) };
}

/**
 * Connects to Temporal, retrying while a freshly started server comes up.
 * `rpcAttempts` bounds how often each later call is tried while the server is
 * unreachable: the SDK's default (10, about 20 s) suits a worker; an API
 * request should fail within a second and answer 503 instead. Closing the
 * connection first lets retries already scheduled run out (at most a few
 * seconds, and only when a call was failing).
 */
export async function connectTemporal(
  endpoint: string | TemporalEndpoint,
  { timeoutMs = 60_000, rpcAttempts }: { timeoutMs?: number; rpcAttempts?: number } = {},
): Promise<Connection> {
  const options = temporalConnectionOptions(
    typeof endpoint === 'string'
      ? { address: endpoint, tls: undefined, apiKey: undefined }
      : endpoint,
  );
  const { address } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const retries = drainableRetries(rpcAttempts);
    try {
      const connection = await Connection.connect({
        ...options,
        interceptors: [retries.interceptor],
      });
      const close = connection.close.bind(connection);
      connection.close = async () => {
        await retries.drain();
        await close();
      };
      return connection;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`Temporal is not reachable at ${address}`, { cause: error });
      }
      await sleep(500);
    }
  }
}

/** gRPC status codes that mean the server could not be reached or did not answer in time. */
const unreachable = new Set([
  4, // DEADLINE_EXCEEDED
  14, // UNAVAILABLE
]);

/**
 * Whether a Temporal client error means the server is unreachable (down,
 * restarting, not answering), rather than that it refused the request.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    if (isGrpcServiceError(current)) return unreachable.has(current.code);
    if (
      current instanceof ServiceError &&
      /Failed to connect before the deadline/.test(current.message)
    )
      return true;
  }
  return false;
}

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const indexedValueTypes: Record<SearchAttributeType, IndexedValueType> = {
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;

async function listCustomSearchAttributes(connection: Connection, namespace: string) {
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace,
    });
    return customAttributes;
  } catch (error) {
    // The time-skipping test server can add search attributes but not list them.
    if ((error as { code?: unknown }).code === GRPC_UNIMPLEMENTED) return {};
    throw error;
  }
}

/**
 * Registers Custodian's custom search attributes in the namespace, adding only
 * the missing ones. The setup job (`npm run setup`) runs it, and every worker
 * start unless TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false: a dev server with a
 * persistent database ignores `--search-attribute` flags after its first
 * start. It needs operator rights, which a managed namespace does not give a
 * worker.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<void> {
  const customAttributes = await listCustomSearchAttributes(connection, namespace);
  const missing = Object.values(searchAttributes).filter(
    (key) => !(key.name in (customAttributes ?? {})),
  );
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, indexedValueTypes[key.type]]),
      ),
    });
  } catch (error) {
    // Another worker registered them meanwhile, or the server could not list them.
    if ((error as { code?: unknown }).code !== GRPC_ALREADY_EXISTS) throw error;
  }
}

const GRPC_NOT_FOUND = 5;

/**
 * Registers the namespace on a self-hosted cluster when it does not exist
 * yet (the production server image, unlike `auto-setup` and the dev server,
 * creates none). A managed namespace exists already and is left alone.
 * Returns whether it registered one.
 */
export async function ensureNamespace(
  connection: Connection,
  namespace: string,
  retentionMs: number,
): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code !== GRPC_NOT_FOUND) throw error;
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(retentionMs),
    });
    return true;
  } catch (error) {
    // Another setup run registered it meanwhile.
    if ((error as { code?: unknown }).code === GRPC_ALREADY_EXISTS) return false;
    throw error;
  }
}

/** Where an admin sees a workflow in Temporal UI. */
export function temporalUiLink(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
