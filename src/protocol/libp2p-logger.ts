/**
 * The logger libp2p's components log through: @libp2p/logger's own (the
 * `debug` module, turned on with DEBUG=libp2p:*) for the namespaces DEBUG
 * turns on, and for the others one that does nothing and costs nothing.
 *
 * libp2p makes a logger for every connection and every stream (a scope of
 * its connection's), and @libp2p/logger builds three `debug` instances for
 * each, each matching DEBUG's patterns and asking whether stderr is a
 * terminal, even when none of them will ever print: in a group of a hundred,
 * where every heads exchange and history fetch opens a stream, that was 2-3%
 * of each member's CPU.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { enabled, logger } from '@libp2p/logger'

export function libp2pLogger (): ComponentLogger {
  return { forComponent: (name) => scoped(name) }
}

function scoped (name: string): Logger {
  if (enabled(name) || enabled(`${name}:error`) || enabled(`${name}:trace`)) return logger(name)
  const silent = (): void => {}
  return Object.assign(silent, { enabled: false, error: silent, trace: silent, newScope: (scope: string) => scoped(`${name}:${scope}`) })
}
