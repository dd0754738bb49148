// Minimal browser stand-ins for the ActionCable clients under Node (imported before any client):
// - document: a cookie jar (`document.cookie = 'Authorization=<token>;path=/'` as Lessy does),
//   addEventListener, head.querySelector (no <meta> tags), visibility "visible";
// - window: an event target with location and console (the legacy 5.2 client reads window.WebSocket),
//   whose addEventListener is also global, as in a page;
// - a global WebSocket: the `ws` package, sending document.cookie on the upgrade request as a
//   browser would, and with a network switch: while offline, every new socket is refused.
//   A browser dispatches each WebSocket message as its own task, so promise callbacks run between
//   two messages; `ws` by default emits every message of one TCP read in the same tick. That
//   difference is not harmless: @anycable/core 1.x maps a subscription's identifier in a promise
//   callback after confirm_subscription and silently drops a confirm_history/reject_history that
//   arrives before it (both usually come in one read), so under Node an application would miss
//   history_not_found. allowSynchronousEvents: false gives each message its own tick, as a page.
// Every text frame the client receives is also printed as `frame <data>`.
import WS from 'ws'

export function print(tag, value) {
  process.stdout.write(tag + (value === undefined ? '' : ' ' + (typeof value === 'string' ? value : JSON.stringify(value))) + '\n')
}

function eventTarget(obj) {
  const listeners = {}
  obj.addEventListener = (type, fn) => { (listeners[type] ||= []).push(fn) }
  obj.removeEventListener = (type, fn) => { listeners[type] = (listeners[type] || []).filter(f => f !== fn) }
  obj.dispatchEvent = event => {
    for (const fn of (listeners[event.type] || []).slice()) fn(event)
    return true
  }
  return obj
}

const jar = new Map()
export const document = eventTarget({
  get cookie() { return [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
  set cookie(text) {
    const pair = text.split(';')[0]
    const eq = pair.indexOf('=')
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
  },
  visibilityState: 'visible',
  hidden: false,
  head: { querySelector: () => null },
})

export const window = eventTarget({
  location: { protocol: 'http:', host: 'localhost', href: 'http://localhost/' },
  console,
})

export const network = { online: true, sockets: new Set(), opened: 0 }
/** Set printFrames = false before creating clients to keep stdout to what a script prints itself (many clients). */
export const tap = { printFrames: true }

export class WebSocket extends WS {
  constructor(url, protocols) {
    const cookie = document.cookie
    const options = { allowSynchronousEvents: false, ...(cookie ? { headers: { Cookie: cookie } } : {}) }
    // offline: a port nothing listens on, so the attempt fails at once like a dead network
    super(network.online ? url : 'ws://127.0.0.1:1/', protocols, options)
    network.sockets.add(this)
    this.addEventListener('open', () => { network.opened++ })
    this.addEventListener('message', event => { if (tap.printFrames) print('frame', String(event.data)) })
    this.addEventListener('close', () => network.sockets.delete(this))
  }
}

globalThis.document = document
globalThis.window = window
// a page's global scope is its window: @rails/actioncable calls the bare addEventListener
globalThis.addEventListener = window.addEventListener
globalThis.removeEventListener = window.removeEventListener
globalThis.WebSocket = WebSocket
window.WebSocket = WebSocket

/** Cuts the network: open sockets die without a close handshake, new ones are refused. */
export function goOffline() {
  network.online = false
  for (const s of network.sockets) s.terminate()
}

/** Restores the network and tells the page, as a browser fires window 'online'. */
export function goOnline() {
  network.online = true
  window.dispatchEvent({ type: 'online' })
}

process.on('uncaughtException', e => print('uncaught', { name: e.name, message: e.message }))
