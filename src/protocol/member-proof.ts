/**
 * Telling a log's members from the other peers on its topic (replicas, stock
 * OrbitDB peers), which the relay of new entries needs (`entry-relay.ts`): a
 * member hands its entries only to peers that are members too, who read who
 * wrote them anyway.
 *
 * With each heads exchange, a peer sends for each log an HMAC, under a key
 * derived from the group's secret, of the log's address, its own peer id and
 * the other's: only a holder of the secret makes it, and it is good for that
 * one pair of peers, so it cannot be shown to a third. A peer without the
 * secret (a replica) sends random bytes of the same length in its place, so
 * what it receives does not tell it which of the peers it talks to are
 * members; they check its bytes, which prove nothing.
 */
import { equalBytes, hkdfSha256, hmacSha256, randomBytes, utf8ToBytes } from './crypto.ts'
import { encodeCbor } from './encoding.ts'

export const MEMBER_PROOF_SIZE = 32
const DOMAIN = utf8ToBytes('bertybot/member-proof/v1')

export class MemberProof {
  readonly #key: Uint8Array
  readonly #address: string

  /** `secret`: the group's secret; `address`: the log's. */
  constructor (secret: Uint8Array, address: string) {
    this.#key = hkdfSha256(secret, undefined, DOMAIN, 32)
    this.#address = address
  }

  /** The proof peer `from` sends peer `to`. */
  make (from: string, to: string): Uint8Array {
    return hmacSha256(this.#key, encodeCbor(['bertybot/member-proof/v1', this.#address, from, to]))
  }

  /** Whether `proof` is what a member `from` sends peer `to`. */
  check (proof: Uint8Array, from: string, to: string): boolean {
    return proof.length === MEMBER_PROOF_SIZE && equalBytes(proof, this.make(from, to))
  }
}

/** What a peer without the secret sends in place of a proof. */
export function decoyProof (): Uint8Array {
  return randomBytes(MEMBER_PROOF_SIZE)
}
