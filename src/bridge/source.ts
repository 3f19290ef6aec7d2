/**
 * What a webhook source adapter is: it turns one HTTP request from a kind of
 * sender (Alertmanager, Grafana, GitHub, anything that posts JSON or text)
 * into notifications, the messages the bridge posts to a route's groups.
 *
 * An adapter only reads and formats: the bridge around it checks the route
 * and its secret, limits the body and the rate, removes redeliveries and
 * repeats, applies flood control, and queues the messages in the durable
 * outbox. A user's bot can bring its own adapter for another sender.
 */

/** The parts of an HTTP request an adapter sees. */
export interface WebhookRequest {
  /** The raw body, exactly as received (signatures are computed over it). */
  readonly body: Buffer
  /** The media type, lower case, without parameters: `application/json`, `text/plain`. */
  readonly contentType: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** What an adapter knows of the route a request came in on. */
export interface WebhookRouteInfo {
  readonly name: string
  /** For the generic source: a Mustache template that renders a JSON payload of any shape into the message. */
  readonly template?: string | undefined
}

/** One alert in a notification (Alertmanager, Grafana). */
export interface AlertInfo {
  /** Stable identity of the alert (Alertmanager's fingerprint, else a hash of its labels). */
  readonly fingerprint: string
  /** How a digest names it, once: the alert name and the labels that tell it apart from the others. */
  readonly name: string
  readonly status: 'firing' | 'resolved'
  readonly labels: Readonly<Record<string, string>>
}

/** A message to post, as an adapter made it. */
export interface Notification {
  /** The whole message, plain text; its first line is a headline. */
  readonly text: string
  /** The same message in the Markdown subset messages may be flagged with (bold, italic, code, links), if the source writes one: posted in place of `text`. */
  readonly markdown?: string | undefined
  /** One line naming it, for a digest when the group is over its rate (for alerts, each alert's `name` is used). */
  readonly headline: string
  readonly severity?: string | undefined
  /** The alerts it is about; empty for sources that are not about alerts. */
  readonly alerts: readonly AlertInfo[]
  /**
   * Notifications of one thread are one story (Alertmanager's group key): a
   * resolution answers the thread's firing message, and the same content
   * again is a repeat.
   */
  readonly thread?: string | undefined
  /** Identifies what the notification says, within its thread: equal keys are a repeat. */
  readonly contentKey?: string | undefined
  /** All the thread's alerts are resolved: the short line posted as an answer to the thread's firing message. */
  readonly resolvedLine?: string | undefined
  /**
   * The same notification restricted to the alerts `keep` accepts, or
   * undefined if none is left: for label matchers that send some alerts of
   * a notification to other groups.
   */
  readonly only?: ((keep: (alert: AlertInfo) => boolean) => Notification | undefined) | undefined
}

/** Where a payload is wrong: `field` is a path into it (`alerts[0].labels`), `why` says what is expected. */
export interface PayloadProblem {
  readonly field: string
  readonly why: string
}

export type WebhookParseResult =
  | {
    readonly ok: true
    readonly notifications: readonly Notification[]
    /** The sender's id for this delivery (GitHub's `X-GitHub-Delivery`): a second request with it is a redelivery. */
    readonly deliveryId?: string | undefined
  }
  | { readonly ok: false, readonly problem: PayloadProblem }

export interface WebhookSource {
  /** The `<source>` in `POST /hooks/<source>/<route>`: lower case letters, digits and dashes. */
  readonly kind: string
  /**
   * How a request proves it comes from the route's owner: `bearer`, the
   * secret in `Authorization: Bearer <secret>`; or `signature`, checked by
   * `verify` over the raw body (GitHub's `X-Hub-Signature-256`).
   */
  readonly auth: 'bearer' | 'signature'
  /** For `auth: 'signature'`: whether the request is signed with `secret`. Must compare in constant time. */
  readonly verify?: (request: WebhookRequest, secret: string) => Promise<boolean>
  /** The media types it takes; others get 415. */
  readonly contentTypes: readonly string[]
  /** Reads and formats a request; never throws on bad input, returns the problem. */
  readonly parse: (request: WebhookRequest, route: WebhookRouteInfo) => WebhookParseResult
}
