// Many real @anycable/web clients (extended protocol, resumable) in one Node process, for the
// reliability tests (NetworkJitterTest): each has its own token (?token=) and subscribes to rooms
// through a channel whose template takes a `room` parameter.
//   node cable/many.mjs <ws url of /cable> <channel> [--unfixed]
// The clients run with the fix of anycable-reset-fix.mjs (a subscribe interrupted by a disconnect is
// retried, not dropped); --unfixed leaves the library as published (CableSubscribeCutTest shows why).
// stdin, one command per line:
//   client <id> <token> <room>[,<room>…]   create a cable and subscribe to each room
//   cut <id>                               the next subscribe client <id> sends is followed at once by a cut
//                                          of its socket (no close handshake): the confirmation never arrives
//   dump <id>                              print the client's state and its last frames (diagnosis)
//   exit
// stdout, one line per thing that happens (ids and rooms contain no spaces):
//   connect <id> <restored true|false>        the cable (re)connected
//   subscribed <id> <room>                    a subscription was confirmed
//   received <id> <room> <stream> <epoch> <offset> <data json>
//   history_not_found <id> <room>             reject_history: the client must reconcile on its own
//   disconnect <id> <reason>
//   rejected <id> <room>
//   closed <id> <room>                        the client closed the subscription without a rejection: it
//                                             will never subscribe to it again
//   cut <id>                                  the cut asked for was made
//   dump <id> <json>                          answer to dump: cable/channel/subscription state, transcript
import readline from 'node:readline'
import { tap, print } from './browser.mjs'
import { fixExtendedProtocolReset } from './anycable-reset-fix.mjs'

tap.printFrames = false
const { createCable } = await import('@anycable/web')
const { backoffWithJitter } = await import('@anycable/core')
const [url, channelName, flag] = process.argv.slice(2)
if (flag !== '--unfixed') fixExtendedProtocolReset()
const cuts = new Set() // ids whose next subscribe is followed by a cut
const cables = new Map()
// diagnosis (dump): per client, the last LIFECYCLE entries (socket opens/closes, cable and channel
// events, frames out, frames in other than broadcasts and pings) and the last MESSAGES broadcasts in
const transcripts = new Map() // id → { events: [[ms, what, text]…], messages: [[ms, 'in', text]…] }
const LIFECYCLE = 60, MESSAGES = 10
const lastPing = new Map() // id → when the last ping arrived (pings are not in the transcript)

function note(id, what, text) {
  const t = transcripts.get(id)
  const list = what === 'in' && String(text).includes('"message":') ? t.messages : t.events
  list.push([Date.now(), what, text === undefined ? '' : String(text).slice(0, 300)])
  if (list.length > (list === t.messages ? MESSAGES : LIFECYCLE)) list.shift()
}

function line(...parts) {
  process.stdout.write(parts.join(' ') + '\n')
}

function client(id, token, rooms) {
  const cable = createCable(`${url}?token=${encodeURIComponent(token)}`, {
    protocol: 'actioncable-v1-ext-json',
    logLevel: 'error', // the client's logger writes to the console: keep stdout to the lines below
    // a real option of the client: reconnect within 100-500 ms instead of its 3 s default, so a
    // short run sees many resumes
    reconnectStrategy: backoffWithJitter(100, { maxInterval: 500 }),
  })
  cables.set(id, cable)
  transcripts.set(id, { events: [], messages: [] })
  // every frame out (and the cut, if one is asked for) and in, the socket's opens (with the sid asked to restore) and closes
  const transport = cable.transport
  const send = transport.send.bind(transport)
  transport.send = data => {
    note(id, 'out', data)
    send(data)
    if (cuts.has(id) && String(data).includes('"command":"subscribe"')) {
      cuts.delete(id)
      transport.ws.terminate()
      note(id, 'cut')
      line('cut', id)
    }
  }
  transport.on('data', data => {
    if (String(data).startsWith('{"type":"ping"')) lastPing.set(id, Date.now())
    else note(id, 'in', data)
  })
  transport.on('open', () => note(id, 'open', new URL(transport.url).searchParams.get('sid') || '-'))
  transport.on('close', () => note(id, 'close'))
  cable.on('connect', ev => { note(id, 'cable-connect', JSON.stringify(ev)); line('connect', id, ev && ev.restored === true) })
  cable.on('disconnect', err => { note(id, 'cable-disconnect', err && err.reason); line('disconnect', id, (err && err.reason) || '-') })
  for (const room of rooms) {
    const channel = cable.subscribeTo(channelName, { room })
    channel.on('connect', ev => { note(id, 'channel-connect ' + room, JSON.stringify(ev)); line('subscribed', id, room) })
    channel.on('disconnect', err => note(id, 'channel-disconnect ' + room, err && err.reason))
    channel.on('message', (message, meta) => line('received', id, room, meta?.stream ?? '-', meta?.epoch ?? '-', meta?.offset ?? '-', JSON.stringify(message)))
    channel.on('info', info => { note(id, 'channel-info ' + room, info && info.type); if (info && info.type === 'history_not_found') line('history_not_found', id, room) })
    channel.on('close', err => { note(id, 'channel-close ' + room, err ? err.name + ' ' + err.message : 'without an error'); line(err && err.name === 'SubscriptionRejectedError' ? 'rejected' : 'closed', id, room) })
    channel.ensureSubscribed().catch(() => {})
  }
}

const stamp = ([ms, what, text]) => `${new Date(ms).toISOString().slice(11, 23)} ${what} ${text}`

function dump(id) {
  const cable = cables.get(id)
  if (!cable) return line('dump', id, 'null')
  const p = cable.protocol
  const subscriptions = cable.hub.subscriptions.all().map(s => ({
    id: s.id, remoteId: s.remoteId, intent: s.intent, state: s.state, disposed: s.disposed,
    pendings: s._pendings.map(l => l.intent), channels: s.channels.map(c => c.state),
  }))
  line('dump', id, JSON.stringify({
    state: cable.state, sessionId: cable.sessionId, recovering: cable.recovering,
    pendingSubscriptions: Object.keys(p.pendingSubscriptions), pendingHistory: p.pendingHistory,
    streamsPositions: p.streamsPositions, subscriptions, lastPing: new Date(lastPing.get(id) || 0).toISOString().slice(11, 23),
    events: transcripts.get(id).events.map(stamp), messages: transcripts.get(id).messages.map(stamp),
  }))
}

readline.createInterface({ input: process.stdin }).on('line', text => {
  const [cmd, ...args] = text.trim().split(' ')
  if (cmd === 'client') return client(args[0], args[1], args[2].split(','))
  if (cmd === 'cut') return cuts.add(args[0])
  if (cmd === 'dump') return dump(args[0])
  if (cmd === 'exit') return process.exit(0)
  print('error', { message: 'unknown command ' + cmd })
}).on('close', () => process.exit(0))

line('ready')
