/**
 * What each method of the web API (`api.ts`) does with the client: the
 * server checks a request's parameters against the method's schema, then
 * runs it here and checks the result the same way.
 */
import QRCode from 'qrcode'
import type { z } from 'zod'
import { ClientError, type ChatClient } from '../client/index.ts'
import { methods, type MethodName } from './api.ts'

export async function run (client: ChatClient, method: MethodName, params: unknown): Promise<unknown> {
  switch (method) {
    case 'hello': {
      const self = client.self
      return {
        self: { ...self, qrSvg: await QRCode.toString(self.link, { type: 'svg', margin: 1 }) },
        conversations: await client.conversations(),
        requests: client.requests(),
        limits: { maxFileSize: client.maxFileSize }
      }
    }
    case 'history': {
      const p = params as z.infer<typeof methods.history.params>
      return await client.history(p.conversation, { before: p.before, limit: p.limit })
    }
    case 'send': {
      const p = params as z.infer<typeof methods.send.params>
      return { message: await client.send(p.conversation, p.text, p.replyTo) }
    }
    case 'react': {
      const p = params as z.infer<typeof methods.react.params>
      return { message: await client.react(p.conversation, p.seq, p.emoji, { remove: p.remove }) }
    }
    case 'edit': {
      const p = params as z.infer<typeof methods.edit.params>
      return { message: await client.edit(p.conversation, p.seq, p.text) }
    }
    case 'delete': {
      const p = params as z.infer<typeof methods.delete.params>
      return { message: await client.delete(p.conversation, p.seq) }
    }
    case 'press': {
      const p = params as z.infer<typeof methods.press.params>
      return { message: await client.press(p.conversation, p.seq, p.payload) }
    }
    case 'read':
      await client.markRead((params as z.infer<typeof methods.read.params>).conversation)
      return {}
    case 'addContact': {
      const p = params as z.infer<typeof methods.addContact.params>
      const contact = await client.addContact(p.link, p.message)
      return { name: contact.displayName, delivered: contact.requestDelivered || contact.state === 'accepted' }
    }
    case 'answerRequest': {
      const p = params as z.infer<typeof methods.answerRequest.params>
      const group = await client.answerRequest(p.account, p.accept)
      return group === undefined ? {} : { conversation: group.id }
    }
    case 'createGroup':
      return { conversation: (await client.createGroup((params as z.infer<typeof methods.createGroup.params>).name)).id }
    case 'invitation':
      return { invitation: client.invitation((params as z.infer<typeof methods.invitation.params>).conversation) }
    case 'invite': {
      const p = params as z.infer<typeof methods.invite.params>
      await client.invite(p.conversation, contactAccount(client, p.contact))
      return {}
    }
    case 'joinGroup':
      return { conversation: (await client.joinGroup((params as z.infer<typeof methods.joinGroup.params>).invitation)).id }
    case 'addReplica': {
      const p = params as z.infer<typeof methods.addReplica.params>
      await client.addReplica(p.conversation, p.link)
      return {}
    }
    case 'blocked':
      return { blocked: client.blocks.list() }
    case 'block': {
      const p = params as z.infer<typeof methods.block.params>
      await client.blocks.block(p.account, p.name)
      return { blocked: client.blocks.list() }
    }
    case 'unblock':
      await client.blocks.unblock((params as z.infer<typeof methods.unblock.params>).account)
      return { blocked: client.blocks.list() }
  }
}

/** `invite` names the contact by account, or by the 1:1 conversation the page lists. */
function contactAccount (client: ChatClient, contact: string): string {
  const byConversation = client.contacts().find((c) => c.conversation === contact)
  if (byConversation !== undefined) return byConversation.account
  if (client.contacts().some((c) => c.account === contact)) return contact
  throw new ClientError('ERR_NO_CONTACT', 'not one of your contacts')
}
