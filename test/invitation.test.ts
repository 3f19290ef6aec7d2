import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58btc } from 'multiformats/bases/base58'
import { describe, expect, it } from 'vitest'
import { InvalidLinkError, type InvalidLinkReason } from '../src/protocol/errors.ts'
import { createMultiMemberGroupKeys, decodeInvitation, encodeInvitation } from '../src/protocol/group-keys.ts'
import { encodeLink } from '../src/protocol/link.ts'

const hint = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWJopZHiJzy3SA7wJEazptro9bTfK25Y14QpeicdszKkBk'

function reasonOf (link: string): InvalidLinkReason | 'accepted' {
  try {
    decodeInvitation(link)
    return 'accepted'
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidLinkError)
    return (err as InvalidLinkError).reason
  }
}

function linkBody (link: string): Record<string, unknown> {
  const data = base58btc.baseDecode(link.slice('bertybot://group/'.length))
  return dagCbor.decode(data.subarray(1, data.length - 4))
}

/** Re-encodes a link's data after `edit`, with a correct checksum: a deliberate forgery, not damage. */
function forge (link: string, edit: (body: Record<string, unknown>) => void): string {
  const body = linkBody(link)
  edit(body)
  return encodeLink('group', body)
}

describe('group invitations', () => {
  const keys = createMultiMemberGroupKeys()
  const link = encodeInvitation({ keys, name: 'ops room', hints: [hint] })

  it('round-trips the group keys, name and dialing hints', () => {
    const decoded = decodeInvitation(link)
    expect(decoded.keys.publicKey).toEqual(keys.publicKey)
    expect(decoded.keys.secret).toEqual(keys.secret)
    expect(decoded.keys.linkKey).toEqual(keys.linkKey)
    expect(decoded.name).toBe('ops room')
    expect(decoded.hints).toEqual([hint])
  })

  it('survives surrounding whitespace from copy and paste', () => {
    expect(reasonOf(`  ${link}\n`)).toBe('accepted')
  })

  it('refuses each kind of bad input with its own reason', () => {
    expect(reasonOf('hello there')).toBe('not-a-link')
    expect(reasonOf('https://example.org/invite')).toBe('not-a-link')
    expect(reasonOf(link.replace('bertybot://group/', 'bertybot://contact/'))).toBe('wrong-kind')
    expect(reasonOf(link.slice(0, link.length - 20))).toBe('damaged')
    expect(reasonOf('bertybot://group/3x')).toBe('damaged')
    // One character changed: the checksum catches it.
    const i = link.length - 30
    const altered = link.slice(0, i) + (link[i] === 'a' ? 'b' : 'a') + link.slice(i + 1)
    expect(reasonOf(altered)).toBe('damaged')
    expect(reasonOf(link + '0OIl')).toBe('malformed')
  })

  it('refuses a forged invitation whose secret does not belong to its group key', () => {
    const other = createMultiMemberGroupKeys()
    expect(reasonOf(forge(link, (body) => { body.secret = other.secret }))).toBe('tampered')
    expect(reasonOf(forge(link, (body) => { body.pk = other.publicKey }))).toBe('tampered')
  })

  it('refuses a well-signed body with missing or wrong fields, naming the field', () => {
    try {
      decodeInvitation(forge(link, (body) => { delete body.secretSig }))
      expect.unreachable()
    } catch (err) {
      expect((err as InvalidLinkError).reason).toBe('malformed')
      expect((err as Error).message).toContain('secretSig')
    }
    expect(reasonOf(forge(link, (body) => { body.hints = 'not a list' }))).toBe('malformed')
  })

  it('refuses a link from a newer protocol version, saying so', () => {
    const bytes = base58btc.baseDecode(link.slice('bertybot://group/'.length))
    bytes[0] = 2
    // Recompute the checksum so that only the version is wrong.
    bytes.set(sha256(bytes.subarray(0, bytes.length - 4)).subarray(0, 4), bytes.length - 4)
    expect(reasonOf(`bertybot://group/${base58btc.baseEncode(bytes)}`)).toBe('unsupported-version')
  })
})
