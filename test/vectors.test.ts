/**
 * Fixed-input vectors for our constructions: a refactor that changes bytes on
 * the wire, or a derivation, fails here loudly. The HKDF and contact-group
 * vectors were checked against an independent implementation (Python's
 * hashlib/hmac and `cryptography`), not only produced by this code.
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes, signingKeyPairFromSeed, x25519Agreement } from '../src/protocol/crypto.ts'
import { decodeAppMessage } from '../src/protocol/app-messages.ts'
import { MetadataEventType, memberDeviceAddedSchema, openChainKey, openMessageBody, openMessageHeaders, openMetadataEvent, payloadSentSchema, verifyMemberDevice } from '../src/protocol/envelope.ts'
import { decodeCbor } from '../src/protocol/encoding.ts'
import { decodeContactLink, encodeContactLink } from '../src/protocol/contact-link.ts'
import { computeLinkKey, decodeInvitation, deriveContactGroupKeys } from '../src/protocol/group-keys.ts'
import { deriveNextKeys } from '../src/protocol/ratchet.ts'

const fill = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

describe('key derivations', () => {
  it('agrees on X25519 secrets as RFC 7748 says, and refuses a low-order public key', () => {
    // RFC 7748, section 6.1: Alice's private key, Bob's public key, their shared secret.
    const alice = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const bob = hexToBytes('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    expect(bytesToHex(x25519Agreement(alice, bob))).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
    expect(() => x25519Agreement(alice, new Uint8Array(32))).toThrow()
    expect(() => x25519Agreement(alice, new Uint8Array(31))).toThrow(TypeError)
  })

  it('derives the next chain key and message key as Wesh does (HKDF-SHA256, info = group key)', () => {
    const { chainKey, messageKey } = deriveNextKeys(fill(1), fill(2))
    expect(bytesToHex(chainKey)).toBe('409b19f3755ff9514bde4aed778ec7af744029ff1eb3c059a371def5915f7153')
    expect(bytesToHex(messageKey)).toBe('33c3e47a7a92add82009f18ce9af103a708fca1cb17c81d8ae8ae223d9908ca6')
  })

  it('derives the link key with HKDF-SHA3-256 of the secret, info = group key', () => {
    expect(bytesToHex(computeLinkKey(fill(5), fill(2)))).toBe('baf62a7118a635703ecac931a82768a71e046d0287e882bb6924f530de9bc7ae')
  })

  it('derives the same contact group on both sides, and the expected one', () => {
    const alice = signingKeyPairFromSeed(fill(3))
    const bob = signingKeyPairFromSeed(fill(4))
    const fromAlice = deriveContactGroupKeys(alice, bob.publicKey)
    const fromBob = deriveContactGroupKeys(bob, alice.publicKey)
    expect(bytesToHex(fromAlice.publicKey)).toBe('7e8905929c674d87c6ce14a8d39e8db4bb483bca0ed5c90789cf7ee7555a300c')
    expect(bytesToHex(fromAlice.secret)).toBe('ca3ad50cded11de394040348d506f24277ddbe996b61e9f21bf806dfbe7c665a')
    expect(fromBob.publicKey).toEqual(fromAlice.publicKey)
    expect(fromBob.secret).toEqual(fromAlice.secret)
    expect(fromBob.linkKey).toEqual(fromAlice.linkKey)
    const carol = signingKeyPairFromSeed(fill(6))
    expect(deriveContactGroupKeys(alice, carol.publicKey).publicKey).not.toEqual(fromAlice.publicKey)
  })
})

describe('wire formats', () => {
  const secret = fill(7)
  const groupKey = hexToBytes('1398f62c6d1a457c51ba6a4b5f3dbd2f69fca93216218dc8997e416bd17d93ca')
  const device = signingKeyPairFromSeed(fill(9))
  const account = signingKeyPairFromSeed(fill(10))

  it('opens a message sealed by an earlier build', () => {
    const sealed = hexToBytes('a36162583b92cc73adeb66f7886b12e22281ae42174838ca8a94c5f7b51a01e04cb5ad45461155070b517a2244429d0e3f8608dc0592a0c8f8d645c877d37ee96168587c749aaf9389adca165f21b2fc36099f15b556f88e875df5f48eb573ef4b4f6120803483ad4f7b337a7f1bcc5714462fb1e8ad3369863f2c6d6590c76faf808206a821a8ca88b94fa3a38c01164e12848e0387b3d4955b16eec6d368712442f5d77ea23e05382bed8e291bce9d6b0d4a73d866fb75cf56cda1c3581121616e58181040e0fcd1dc465067ecb9b7fc5d7878eb7d0a1c43174267')
    const headers = openMessageHeaders(secret, sealed)
    if (!headers.ok) throw new Error(headers.detail)
    expect(headers.headers.counter).toBe(5)
    expect(headers.headers.device).toEqual(device.publicKey)
    // The body under the message key is deterministic (nonce = counter): pin its bytes too.
    expect(bytesToHex(headers.sealedBody)).toBe('92cc73adeb66f7886b12e22281ae42174838ca8a94c5f7b51a01e04cb5ad45461155070b517a2244429d0e3f8608dc0592a0c8f8d645c877d37ee9')
    const body = openMessageBody(groupKey, headers.headers, fill(11), headers.sealedBody)
    if (!body.ok) throw new Error(body.detail)
    expect(bytesToHex(body.plaintext)).toBe('a364746578746e68656c6c6f2c20766563746f72736474797065016673656e7441741b0000018bcfe56800')
    expect(decodeAppMessage(body.plaintext)).toEqual({ ok: true, message: { type: 1, text: 'hello, vectors', sentAt: 1_700_000_000_000 } })
  })

  it('opens a metadata event sealed by an earlier build', () => {
    const sealed = hexToBytes('a2616558eacd69a79934dabea5d614ff246b0c295e898bd98113c11da713e9197e8862c80cc4fc8107587fa3bf6b550d8800baaa6ecb4e6348d862d7e710f653bb39c7282efb3142a312acb917d6f71da783327a9dab9f547ab05b83cbcf6238181d14f8b26f628f32686d245a0ba430dc5fc235b235eaae2e5914ba7fe94597f74e0254e8ee4d5aa42a0a006700c1313a4d597003cec9315e268f31afe07c8fb728b6e1bc2ca876cf209d41c76c5d6051afdf7af2c73dfe1a78b59ea8c2da1b11890e2cb2f674f8a4b431bcd61d4dc3b82dfedf852b8c8b4c150707ef793ec51c5b054216e71635cec9db63f9e5c6616e5818e1ac2cbe5c267590090b5f008f09b9a052adab493cc00097')
    const opened = openMetadataEvent(secret, groupKey, sealed)
    if (!opened.ok) throw new Error(opened.detail)
    expect(opened.event.type).toBe(MetadataEventType.MemberDeviceAdded)
    expect(opened.event.device).toEqual(device.publicKey)
    const body = decodeCbor(opened.event.body, memberDeviceAddedSchema)
    expect(body?.m).toEqual(account.publicKey)
    expect(verifyMemberDevice(account.publicKey, groupKey, device.publicKey, body?.ms ?? new Uint8Array())).toBe(true)
  })

  it('opens a message sealed in a padded box (512 bytes, the smallest size)', () => {
    const sealed = hexToBytes('a261655901dead82cdadabece206a002c4b1c58680f7a346a9394cf67186d0096cc5b98f389d0b283405710803f5130a238224a43c4fd2abd222e0b15939545d2543f024f57d1b8cb01119fc0ecde21dadcc5f5a9f3380cccc36f9995f7e41d70e7110e77bd487c145bdd546f88a5d947f8bb0cdf9ce7327ab4c75b566a4a010f83f6b1605fccda06f31d347c7a5dabdef8078aba2ee7bc42df0ef0fa771d750da28e0beaa02f332162e24100b1297187602f31bb947f011203839ab2b42860dfa4faba9af9e6b8e91b0ab6b43f354a957e5cefe390fa22b6f34fecf36ab1fcf7c26f1e561941e5f1045f09068d023c35754f96622bfafcb49d2b572c14a264329eb3e952c39fb55463157f677dbb5bd5e3e39c159e229376c62748dde489f97398ad4bccc21071833765b849b85e61a32bc6ce1ab4eabfcfc08ba4e0d801aac64d236acff85ce02e4480d033c3b983979fc48cd9548c51596626958c378806ac169996568cc086a3e825311cdd4629a04bb7f0badfa6b26209974ede94ead21adffb5fe669ea3191a80adf8db14d954ad33decde8fac901491cf0a1c656b174a2b8c5d769d53e96e8be4cca2aab27dc6d2f52a879d36f8d828aace858a0487d64fb72126d201b853ee2fa428a28c5f5c44c57acdddac0fc2b027d04cfe4eaabc0cb7416616e58180957f9f6a812082225fda1eb6037ae6472485a3db4c44b25')
    expect(sealed).toHaveLength(512)
    const headers = openMessageHeaders(secret, sealed)
    if (!headers.ok) throw new Error(headers.detail)
    expect(headers.headers.counter).toBe(6)
    expect(headers.headers.device).toEqual(device.publicKey)
    const body = openMessageBody(groupKey, headers.headers, fill(11), headers.sealedBody)
    if (!body.ok) throw new Error(body.detail)
    expect(decodeAppMessage(body.plaintext)).toEqual({ ok: true, message: { type: 1, text: 'hello, padded vectors', sentAt: 1_700_000_000_000 } })
  })

  it('opens a metadata event sealed in a padded box', () => {
    const sealed = hexToBytes('a261655901deff5a9190da930190ef2c660dec8d7d63c3a62403c4d2d2e99532149cf88d46877878c35a743df1c730c3d4d2949130fd1979caca371d782851157a4860c5950bc26e90eabf0fb12c06267dc0f59c59d75000eeb708335f5866b89633f502c364fc09fd9905f144807b78cf1ea9e9f9f6a2a94e074c913c75fdef929225c362daec3e604a8e22f80ef3eb35aa2458f2ae8dace3b42f8a52ef90c1b7d1b070a752986028f0c82dfdd759fec615da6c1d207d12ae05a3a3bbe4b5e378e22f69bef4aadc8ff89896c7d819f5fd7347f829000c5ab3ce2a0a064345512360d6a83e2141e261ef0fa1a1608d77b777b7db7b3be79d3d8f33dd8bb2b0b34e148ecb72ade0ac04e43a410a6292c76134179342fa6b40269b41eadf721b08e63edc4aa8b41c56a30afe6bf0e2be45b42cdf274bb27e9a10be16d5938c955b41b898a927345e640956e3c73167613b0806646d94cfdddcc541ba35dc91e2cfd7d007777a9c13b3dca332883debf05c962c4ae903b88cd4af4f2a39ad3c691e2f5f84ee5e25421e1517d94629124d30884f84dfe42c380cc67e246eae358d20714aa7749afa8c16a491536677caa7666decef311b719d4b97f9637ffa863266988493fa2cc78bcd9f51833dab0795f77392036b05c12287fbc5277bcd036337b721922c616e581847c91c74fd27fa02e4df683e14f3255221a03dcad5688afd')
    expect(sealed).toHaveLength(512)
    const opened = openMetadataEvent(secret, groupKey, sealed)
    if (!opened.ok) throw new Error(opened.detail)
    expect(opened.event.type).toBe(MetadataEventType.PayloadSent)
    expect(opened.event.device).toEqual(device.publicKey)
    const info = decodeCbor(opened.event.body, payloadSentSchema)
    expect(decodeAppMessage(info?.m ?? new Uint8Array())).toEqual({ ok: true, message: { type: 5, displayName: 'alice', sentAt: 1_700_000_000_000 } })
  })

  it('opens a chain key sealed to a member by an earlier build', () => {
    const box = hexToBytes('90533218945667df6e954baeb4e1d098e12d390e96586471d8600c30efc2cf988cc0b6bc5c36da45f5c796a622a1d82870e406a7d7c4fd7e28cff522c8511a765904e92429c5a427103ae4c27f8ca497b1a6')
    expect(openChainKey(account, device.publicKey, groupKey, box)).toEqual({ chainKey: fill(12), counter: 42 })
    // Only the member it was sealed to can open it.
    expect(openChainKey(signingKeyPairFromSeed(fill(15)), device.publicKey, groupKey, box)).toBeUndefined()
  })

  it('reads an invitation link made by an earlier build', () => {
    const invitation = decodeInvitation('bertybot://group/KHxibQXXcFJX3WnQiSjkqLirAAD53F3kdoy8u2PkrZtZRcNqLmRsLUwPSMPf9JfAHE6MmpTwrguARQ2anjYPQia8Nd7SNbyBFMZhDVaRmQRKVeXGLhEyon8cohcTgzGpE8GgxMGVPTjThZPVHa7e5TQvwjqN8bC8K4DZLsk2o9T6bJKKYq1XQRCEZybuCuEyq3yywCHpgfGScrdA3s3hUqjaqVfb4CJm233gSn2V1etvs2Fd1a5bf71iYsYpgyNGfyGoPNkzbLy9sjNxYAQCVAf762wtUjpiiTmHhrfybEfw7L9J545ShJ3wKgnHufZiZVoUN6cUefybtQvuzcSSxC4EKk4MD3t5S1UzR9hQdSsMQ8pTf1oLVqhwt37fGPFnnUvzKViduzaaQJWVvdmHbWyVVu1199W78RAkabWWXtLgRt3R9omJ2fKEiktKFNVzw4MooJcbLyVy1R')
    expect(bytesToHex(invitation.keys.publicKey)).toBe('91a28a0b74381593a4d9469579208926afc8ad82c8839b7644359b9eba9a4b3a')
    expect(invitation.keys.secret).toEqual(fill(14))
    expect(invitation.name).toBe('vectors')
    expect(invitation.hints).toEqual(['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWJopZHiJzy3SA7wJEazptro9bTfK25Y14QpeicdszKkBk'])
  })

  it('reads a contact link made by an earlier build (text hints), and writes shorter ones that read back the same', () => {
    const hints = ['/ip4/127.0.0.1/tcp/40885/p2p/12D3KooWK4BP1iWy8p6XRtywC4P2Q9xZ2CeLFn34s24ubEGZZsMG', '/ip4/127.0.0.1/tcp/42781/ws/p2p/12D3KooWK4BP1iWy8p6XRtywC4P2Q9xZ2CeLFn34s24ubEGZZsMG']
    const old = decodeContactLink('bertybot://contact/KFT2n56RFbMbTiqk5vX6Kd8UCMreyjCd5CYo7RoN6mQshnUYvF7QiWCvFtjCwqEZfNa7SKYNDPojmopoBhHzyExwsvBanDx2iJJJ7MAt1vCgDPrCkEnY9YBZDz4yZXHaysCjEnfuFdQmmRKcW71f9LxK1gk3pZvLkd8CYRSY8RVYVr9fB3vtah5Mz3yurrVrJd5TBjK8U12DRy9HAVbFD312GiQQonb3M3GrxmcwB9enaysc7ceHBibn5mzwzEsYuFht1uTpceTeKk7DuSouNzyBbU9tviTg9sAhLFPXFYVwxQbMms8Z1b4ajmb7eorWh9jx6kHJrZPXx6SLwFSoK6vgWkpgdtdFasfeybe1GXFTStrrFCrfTfBzXMmichv64bQMqHnweYGY8YKVSD6u3BqmntbTUk4YU8mJnPV6gkJjpfXc3BYvC9qxZSHEUWZJvQ6fpXbDRCEx6r')
    const account = signingKeyPairFromSeed(fill(7))
    expect(old).toEqual({ accountKey: account.publicKey, seed: fill(9), displayName: 'alice', hints })

    const link = encodeContactLink(account, fill(9), 'alice', hints)
    expect(link).toBe('bertybot://contact/2gRrUEorM261GCtLPcke1X1TDUMi3kiZsiWrEWKS7sFtgm95CTDgZHuKvJCpesCYwCuZBBoXs4qSE6ypD1EMvs4imgeavrCpf1zeV3cT1phb8UVxbsrKZw8w1DNzDBpmbbpUWafKpdazyG8r9ydnZxwDqCWhx5BBp2KML4uPpFsomVWnPpFQc91dv7FCumVctYDvNGfnAZi3NZHt5bAQWHDwbxrpgF76L4vbbcBx2MR9kbmGt7xMPX1BN7YdoywpovsxpVbWHwsk3ZGL9ig5AmBTauA5KUwUrmdszqXeMriMmcn4qQsWKoG')
    expect(decodeContactLink(link)).toEqual(old)
    // A relayed address keeps its relay's id; ours is given once.
    const relayed = '/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWJopZHiJzy3SA7wJEazptro9bTfK25Y14QpeicdszKkBk/p2p-circuit/p2p/12D3KooWK4BP1iWy8p6XRtywC4P2Q9xZ2CeLFn34s24ubEGZZsMG'
    expect(decodeContactLink(encodeContactLink(account, fill(9), 'alice', [hints[0] as string, relayed])).hints).toEqual([hints[0], relayed])
  })
})
