/**
 * The web client: `bertybot web`'s server, the page it serves (built into
 * dist/web), and the API between them (`api.ts`).
 */
export { CONTENT_SECURITY_POLICY, startWebServer, WebServerError, type WebServer, type WebServerOptions } from './server.ts'
export { newToken, readWebSettings, writeWebSettings, type WebSettings } from './settings.ts'
export { parseMarkdown, safeHref, type MarkdownBlock, type MarkdownInline } from './markdown.ts'
