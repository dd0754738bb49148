// A fix for a defect of @anycable/core 1.x (1.1.7 here) that loses a subscription for good:
//
// ActionCableExtendedProtocol.reset(err) (the extended protocol, actioncable-v1-ext-json) rejects the
// pending presence requests with `err` and then calls `super.reset()` WITHOUT it, so
// ActionCableProtocol.reset rejects every subscribe still waiting for its confirm_subscription with
// `undefined`. Cable._subscribe retries on the next connect only when the rejection is a
// DisconnectedError; a falsy one falls through to `subscription.close(undefined)` and
// `hub.unsubscribe(identifier)`: the channel emits `close` with no error and the client never
// subscribes to it again, on any later connection. So a connection that drops between a subscribe
// and its confirmation (a cut, a reset, a stall the monitor gives up on) silently ends that channel;
// the plain protocol (actioncable-v1-json), whose reset is not overridden, retries it. The jitter test
// (NetworkJitterTest) hit this a few times per run: a client got some events of a room, then
// nothing. CableSubscribeCutTest reproduces it deterministically and fails once the library is fixed.
//
// The fix passes the error on, as the base class intends: a subscribe interrupted by a disconnect is
// resubscribed on the next connect (with its stream positions, so the history is served).
import { ActionCableExtendedProtocol, ActionCableProtocol } from '@anycable/core'

export function fixExtendedProtocolReset() {
  const proto = ActionCableExtendedProtocol.prototype
  if (proto.reset.tidingsFixed) return
  const reset = function reset(err) {
    for (const identifier in this.pendingPresence) this.pendingPresence[identifier].reject(err)
    this.pendingPresence = {}
    return ActionCableProtocol.prototype.reset.call(this, err)
  }
  reset.tidingsFixed = true
  proto.reset = reset
}
