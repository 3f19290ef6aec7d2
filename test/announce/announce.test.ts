import type { Group } from 'bertybot'
import { createTestNetwork, ManualClock, type TestNetwork } from 'bertybot/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { ask, meet, startAnnounceBot } from './helpers.ts'

let network: TestNetwork
afterEach(async () => { await network.stop() })

describe('the announcement bot', () => {
  it('announces on schedule to a channel\'s members and to subscribers, once each; refuses non-admins', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock })
    await meet(admin, bot)

    // A channel, joined by two people with its invitation.
    const created = await ask(admin, '/channel new news')
    expect(created).toMatch(/^Channel "news" is ready/)
    const invitation = created.split('\n').at(-1) ?? ''
    const readers = await Promise.all(['ann', 'bob'].map(async (name) => await network.user(name)))
    const channel: Group[] = []
    for (const reader of readers) {
      const group = await reader.peer.joinGroup(invitation)
      reader.open(group)
      channel.push(group)
    }
    await expect.poll(() => bot.peer.group(channel[0]?.id ?? '')?.members().length, { timeout: 30_000 }).toBe(3)
    expect(await ask(admin, '/channels')).toBe('Channels:\nnews: 2 members\nSubscribers: 0')

    // A subscriber, 1:1.
    const cid = await network.user('cid')
    await meet(cid, bot)
    expect(await ask(cid, '/subscribe')).toMatch(/^Subscribed/)
    expect(await ask(cid, '/subscribe')).toMatch(/already/)

    // Others cannot schedule.
    expect(await ask(cid, '/announce add "0 9 * * *" Hello')).toBe('Sorry, only the admins of this bot can do that. You can /subscribe to get its announcements.')

    expect(await ask(admin, '/announce add "0 9 * * *" Stand-up in the big room --tz Europe/Paris'))
      .toBe('Announcement #1 is set: "0 9 * * *" (Europe/Paris) to everyone. Next: Wed 25 Nov 2026, 09:00 (Europe/Paris).')
    expect(await ask(admin, '/announce add "30 8 * * *" Coffee')).toMatch(/^Announcement #2 is set: "30 8 \* \* \*" \(UTC\) to everyone\. Next: Tue 24 Nov 2026, 08:30 \(UTC\)\.$/)
    expect(await ask(admin, '/announce list')).toBe([
      '#1 · "0 9 * * *" Europe/Paris · to everyone · next Wed 25 Nov 2026, 09:00 (Europe/Paris)',
      '   Stand-up in the big room',
      '#2 · "30 8 * * *" UTC · to everyone · next Tue 24 Nov 2026, 08:30 (UTC)',
      '   Coffee'
    ].join('\n'))

    await clock.set(new Date('2026-11-24T08:30:05Z'))
    for (const reader of [...readers, cid]) expect(await reader.nextReply()).toBe('Coffee')
    // Nothing more came before a later announcement: each got it once.
    await clock.set(new Date('2026-11-24T08:31:00Z'))
    expect(await ask(admin, '/announce now Lunch at noon')).toBe('Sent to 2 conversations.')
    for (const reader of [...readers, cid]) expect(await reader.nextReply()).toBe('Lunch at noon')

    // Unsubscribed, cid gets nothing more; the channel still does.
    expect(await ask(cid, '/unsubscribe')).toMatch(/^Unsubscribed/)
    expect(await ask(admin, '/announce pause 2')).toBe('Announcement #2 is paused.')
    expect(await ask(admin, '/announce now Tea --to news')).toBe('Sent to 1 conversation.')
    for (const reader of readers) expect(await reader.nextReply()).toBe('Tea')
    expect(await ask(admin, '/announce log')).toMatch(/^Tue 24 Nov 2026, 08:31 \(UTC\) · admin \(.{8}\) · paused #2$/m)
  })

  it('takes the groups an admin invites it to as channels, and declines others\' invitations', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const stranger = await network.user('stranger')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock })
    await meet(admin, bot)
    const adminChat = admin.conversation
    await meet(stranger, bot)
    const strangerChat = stranger.conversation

    const team = await admin.createGroup('Team room!')
    const member = await network.user('member')
    await admin.invite(team, member)
    await admin.invite(team, bot)
    admin.open(adminChat as Group)
    expect(await admin.nextReply()).toBe('I joined "Team room!": it is the channel Team-room now.')
    expect(await ask(admin, '/channels')).toBe('Channels:\nTeam-room: 2 members\nSubscribers: 0')

    // The channel gets announcements sent to it by name.
    member.open(team)
    expect(await ask(admin, '/announce now Welcome aboard --to team-room')).toBe('Sent to 1 conversation.')
    expect(await member.nextReply()).toBe('Welcome aboard')

    const elsewhere = await stranger.createGroup('elsewhere')
    await stranger.peer.contact(bot.peer.accountId)?.group?.sendInvitation(elsewhere.invitation())
    stranger.open(strangerChat as Group)
    expect(await stranger.nextReply()).toBe('I join the groups my admins invite me to; ask one of them.')
    expect(bot.peer.group(elsewhere.id)).toBeUndefined()
    expect(await ask(admin, '/channels')).toBe('Channels:\nTeam-room: 2 members\nSubscribers: 0')
  })

  it('asks an admin to confirm, with buttons, before an announcement goes right away to every channel', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock })
    await meet(admin, bot)
    const readers = await Promise.all(['ann', 'bob'].map(async (name) => await network.user(name)))
    for (const [i, name] of ['news', 'team'].entries()) {
      const invitation = (await ask(admin, `/channel new ${name}`)).split('\n').at(-1) ?? ''
      readers[i]!.open(await readers[i]!.peer.joinGroup(invitation))
    }
    await expect.poll(() => readers.map((r) => bot.peer.group(r.conversation?.id ?? '')?.members().length), { timeout: 30_000 }).toEqual([2, 2])

    // Named channels go at once; every channel waits for "Send now".
    expect(await ask(admin, '/announce now Tea --to news,team')).toBe('Sent to 2 conversations.')
    for (const reader of readers) expect(await reader.nextReply()).toBe('Tea')
    await admin.send('/announce now Big news')
    const question = await admin.nextMessage()
    expect(question.text).toBe('Send this to all 2 channels and the subscribers now (2 conversations)?\n\nBig news')
    expect(question.buttons.flat().map((b) => b.label)).toEqual(['Send now', 'Cancel'])
    await admin.press(question, 'Cancel')
    expect(await admin.nextEdit()).toMatchObject({ target: question.id, text: expect.stringMatching(/^Not sent \(cancelled by admin \(.{8}\)\)\.\n\nBig news$/), buttons: [] })

    await admin.send('/announce now Big news')
    const again = await admin.nextMessage()
    await admin.press(again, 'Send now')
    expect(await admin.nextEdit()).toMatchObject({ target: again.id, text: 'Sent to 2 conversations.\n\nBig news', buttons: [] })
    for (const reader of readers) expect(await reader.nextReply()).toBe('Big news')

    // Answered, the question has no buttons left: pressing one again (or the cancelled one's) sends nothing.
    await admin.press(again, 'Send now')
    await admin.press(question, 'Send now')
    expect(await ask(admin, '/announce now Bye --to news,team')).toBe('Sent to 2 conversations.')
    for (const reader of readers) expect(await reader.nextReply()).toBe('Bye')
    expect(await ask(admin, '/announce log')).toMatch(/cancelled sending now to everyone: Big news\n.*sent now to everyone: Big news\n.*sent now to news, team: Bye$/)
  })

  it('answers a bad cron expression, time zone, date or id with what is wrong', async () => {
    network = await createTestNetwork()
    const clock = new ManualClock(new Date('2026-11-24T08:00:00Z'))
    const admin = await network.user('admin')
    const { bot } = await startAnnounceBot(network, { admins: [admin], clock })
    await meet(admin, bot)

    expect(await ask(admin, '/announce add "0 99 * * *" Hello')).toBe('"0 99 * * *" is not a cron expression ("99" is not an hour (0-23)).')
    expect(await ask(admin, '/announce add 0 9 * * 1-5 Stand-up time')).toBe(
      '"0" is not a cron expression (1 field where it has 5 fields, minute hour day-of-month month day-of-week, or 6 with seconds first: "0 9 * * 1-5" is 9:00 on weekdays).' +
      ' Put the expression in quotes: /announce add "0 9 * * 1-5" Stand-up time')
    expect(await ask(admin, '/annonce now Hello')).toBe('Unknown command /annonce. Did you mean /announce now? /help lists the commands.')
    expect(await ask(admin, '/announce add "0 9 * * *" Hello --tz Mars/Olympus')).toBe('"Mars/Olympus" is not a time zone (try Europe/Paris or UTC).')
    expect(await ask(admin, '/announce once 2026-13-01 09:00 Hello')).toMatch(/there is no month 13\.$/)
    expect(await ask(admin, '/announce once 2026-11-01 09:00 Hello')).toMatch(/is in the past/)
    expect(await ask(admin, '/announce once tomorrow Hello')).toMatch(/"in 2h"/)
    expect(await ask(admin, '/announce rm 42')).toBe('There is no announcement #42. /announce list shows them.')
    expect(await ask(admin, '/announce add "0 9 * * *" Hi --to nowhere')).toBe('There is no channel named "nowhere". There are no channels yet: /channel new <name> makes one.')
    expect(await ask(admin, '/announce frobnicate')).toMatch(/^\/announce has no "frobnicate"\. It takes:\n\/announce add/)
    expect(await ask(admin, '/announce once in 2h 30m Tea time')).toBe('Announcement #1 is set: once to everyone. Next: Tue 24 Nov 2026, 10:30 (UTC).')
  })
})
