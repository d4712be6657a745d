// Package dynamodb is the election backend that uses one DynamoDB item as
// the witness: two nodes (or two controllers) and no third host, as in the
// DynamoDB lock-client pattern. It implements election.Lease; only
// internal/node, internal/controller, cmd and tests import it.
//
// # The item
//
// One item per lease, keyed by Config.Key in the table's hash key attribute
// (Config.KeyAttribute, default "id"), with these attributes:
//
//	owner     S  the holder's name; "" once released
//	token     N  bumped by every grant: the fencing token
//	rvn       S  record version number, a random GUID rewritten by every
//	             grant, renewal and release
//	lease_ms  N  the holder's lease duration, so that a waiter with another
//	             configuration waits for the holder's lease, not its own
//
// owner and token are DynamoDB reserved words; every expression names them
// through #placeholders. Every write is conditional on the rvn the writer
// last read (or on the item's absence), so of two writers racing only one
// succeeds; the other gets ConditionalCheckFailedException, which this
// package treats as "someone else holds", an outcome and not a fault.
//
// # Why two grants never overlap
//
// Wall clocks are never compared. A holder renews every Config.Renew by
// rewriting rvn; a renewal whose call started at S keeps the grant valid
// until S + Lease × Margin on the holder's monotonic clock (Margin < 1
// absorbs clock-rate differences and scheduling delay). A waiter takes over
// only after it has read the same rvn, unchanged, for a whole Lease on its
// own monotonic clock, counted from its first read of that rvn. That first
// read happened after the write of the rvn began, so after S; the takeover
// thus happens after S + Lease, when the holder's last grant (S + Lease ×
// Margin) has already run out — also when the holder was paused, cut off
// from DynamoDB, or its renewals were slow. The takeover itself is a write
// conditional on that rvn, so a renewal that landed in between wins.
//
// A holder that stops (Run's ctx ends) or becomes ineligible first stops
// acting (Valid answers false), then releases the item (owner ""), which a
// waiter may take at once: that is how one Lambda invocation hands over to
// the next without waiting a lease.
//
// Tokens strictly increase as long as the item exists: deleting it resets
// the counter, which an operator must never do while a holder runs.
package dynamodb
