/**
 * The client layer: what a person's client (`bertybot web`, `bertybot chat`)
 * keeps beside its peer. It uses the peer only through `bertybot/protocol`.
 */
export { ChatClient, ClientError, type ClientEvents, type ClientOptions } from './client.ts'
export { MAX_PAGE, type DeliveryState, type OfferedCommand } from './history.ts'
export type { ConversationView, MessageView, RequestView } from './views.ts'
