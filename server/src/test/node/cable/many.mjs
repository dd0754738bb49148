// Many real @anycable/web clients (extended protocol, resumable) in one Node process, for the
// reliability tests (NetworkJitterTest): each has its own token (?token=) and subscribes to rooms
// through a channel whose template takes a `room` parameter.
//   node cable/many.mjs <ws url of /cable> <channel>
// stdin, one command per line:
//   client <id> <token> <room>[,<room>…]   create a cable and subscribe to each room
//   exit
// stdout, one line per thing that happens (ids and rooms contain no spaces):
//   connect <id> <restored true|false>        the cable (re)connected
//   subscribed <id> <room>                    a subscription was confirmed
//   received <id> <room> <stream> <epoch> <offset> <data json>
//   history_not_found <id> <room>             reject_history: the client must reconcile on its own
//   disconnect <id> <reason>
//   rejected <id> <room>
import readline from 'node:readline'
import { tap, print } from './browser.mjs'

tap.printFrames = false
const { createCable } = await import('@anycable/web')
const { backoffWithJitter } = await import('@anycable/core')
const [url, channelName] = process.argv.slice(2)
const cables = new Map()

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
  cable.on('connect', ev => line('connect', id, ev && ev.restored === true))
  cable.on('disconnect', err => line('disconnect', id, (err && err.reason) || '-'))
  for (const room of rooms) {
    const channel = cable.subscribeTo(channelName, { room })
    channel.on('connect', () => line('subscribed', id, room))
    channel.on('message', (message, meta) => line('received', id, room, meta?.stream ?? '-', meta?.epoch ?? '-', meta?.offset ?? '-', JSON.stringify(message)))
    channel.on('info', info => { if (info && info.type === 'history_not_found') line('history_not_found', id, room) })
    channel.on('close', err => { if (err && err.name === 'SubscriptionRejectedError') line('rejected', id, room) })
    channel.ensureSubscribed().catch(() => {})
  }
}

readline.createInterface({ input: process.stdin }).on('line', text => {
  const [cmd, ...args] = text.trim().split(' ')
  if (cmd === 'client') return client(args[0], args[1], args[2].split(','))
  if (cmd === 'exit') return process.exit(0)
  print('error', { message: 'unknown command ' + cmd })
}).on('close', () => process.exit(0))

line('ready')
