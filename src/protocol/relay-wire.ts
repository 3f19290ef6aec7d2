/**
 * The relay protocol's wire format (`entry-relay.ts`): a writer keeps one
 * stream per relay and sends hand-overs on it one after another; the relay
 * answers each, in the order they came, naming it by its id. Each message is
 * length-prefixed dag-cbor.
 */
import { z } from 'zod'
import { bytes } from './schemas.ts'

/** 1.1: a stream carries many hand-overs (1.0 carried one, then closed). */
export const RELAY_PROTOCOL = '/bertybot/relay/1.1.0'
/** Entries one hand-over carries at most; a larger batch goes in parts, each drawn for. */
export const MAX_RELAYED = 256

/**
 * A hand-over: entries of the log at `address`, to check, publish and take
 * in; `id` counts the stream's hand-overs from 0. `unheard`: the writer's own
 * publication of them reached nobody (it knew no peer on the topic yet), so
 * the relay publishes them even if it holds them already (it may have fetched
 * them from the writer, which gossip never carried to anyone). Earlier builds
 * ignore it and publish only what they did not hold. `alone`: the relay is
 * the only peer the writer knows on the topic; if the writer is the only one
 * the relay knows there, the relay publishes nothing (gossip would only bring
 * the writer its entries back, and neither has anyone else to pass them to).
 * Without it (or from earlier builds), the relay publishes: the writer may
 * forward what gossip brings it back to peers the relay does not reach.
 */
export const relayRequestSchema = z.object({
  id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  address: z.string().max(512),
  entries: z.array(bytes()).min(1).max(MAX_RELAYED),
  unheard: z.literal(true).optional(),
  alone: z.literal(true).optional()
})
/** Whether the relay took the hand-over of that `id` (it published what it did not hold yet). */
export const relayAnswerSchema = z.object({ id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), ok: z.boolean() })

export type RelayRequest = z.infer<typeof relayRequestSchema>
export type RelayAnswer = z.infer<typeof relayAnswerSchema>
