/**
 * The client layer: what a person's client (`bertybot web`, `bertybot chat`)
 * keeps beside its peer. It uses the peer only through `bertybot/protocol`.
 */
export { ChatClient, ClientError, MAX_PAGE, type ClientEvents, type ClientOptions, type ConversationView, type MessageView, type RequestView } from './client.ts'
export type { DeliveryState, OfferedCommand } from './history.ts'
