/**
 * The one place where the engine's defaults are wired: TCP (or TLS when `TLS.Enabled`) and the
 * file store.
 *
 * @module
 */

import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { TcpTransport } from "../../adapters/tcp.ts";
import { TlsTransport } from "../../adapters/tls.ts";
import { FileMessageLogFactory } from "../../adapters/message_log.ts";
import type { MessageLogFactory } from "../message_log.ts";
import type { EngineSettings } from "../config/settings.ts";
import type { Logger } from "../logger.ts";
import type { SeqStoreFactory } from "../store.ts";
import type { Transport } from "../transport.ts";

/**
 * The default transport for the settings: TLS when enabled, else TCP.
 *
 * @param settings Engine settings.
 * @param logger Hears transient accept failures.
 * @returns The transport.
 */
export function defaultTransport(settings: EngineSettings, logger?: Logger): Transport {
  if (!settings.tlsEnabled) return new TcpTransport({ logger });
  const read = (f: string | undefined) => (f === undefined ? undefined : Deno.readTextFileSync(f));
  return new TlsTransport({
    cert: read(settings.tlsCertificateFile),
    key: read(settings.tlsKeyFile),
    caCerts: settings.tlsCaFile === undefined ? undefined : [read(settings.tlsCaFile)!],
    hostname: settings.tlsServerName,
    logger,
  });
}

/**
 * The default store: files under `LogDirectory`.
 *
 * @param settings Engine settings.
 * @param logger Where the store logs recoveries.
 * @returns The store factory.
 */
export function defaultStoreFactory(settings: EngineSettings, logger: Logger): SeqStoreFactory {
  return new FileSeqStoreFactory({
    directory: settings.logDirectory,
    sync: settings.storageSyncMode,
    logger,
  });
}

/**
 * The default message log: `messages.log` in each session's folder of `LogDirectory`, beside
 * the default file store.
 *
 * @param settings Engine settings.
 * @param logger Hears write failures.
 * @returns The factory.
 */
export function defaultMessageLogFactory(
  settings: EngineSettings,
  logger: Logger,
): MessageLogFactory {
  return new FileMessageLogFactory({ directory: settings.logDirectory, logger });
}
