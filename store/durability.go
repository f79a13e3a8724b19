package store

import "context"

// CommitDeferral is implemented by stores whose writes can commit without
// waiting until they are durable, and be made durable later by a durable
// commit on the same database: PostgreSQL's asynchronous commit, where a
// durable commit waits for the write-ahead log up to its own record, and
// so makes every commit before it durable too. Such a store commits the
// write transactions it runs under a context marked by [DeferCommits]
// that way, and every other write durably; appends to the audit log
// ([Runs.AppendRun], [RunBatch.AppendRuns]) are always durable.
//
// The auth Manager marks an operation's context only when its audit log
// appends to the same database (SyncsWith), and only for operations that
// end with the durable append of their event: their writes then commit at
// once, and the event's append makes them durable with it, so that the
// operation waits for the disk once instead of twice. What an operation
// has acknowledged is never lost; a crash may lose the writes of an
// operation that had not returned, as if it had not been made. (Other
// readers may see such writes before they are durable, as with any
// asynchronous commit.) When the append fails, the Manager calls Sync.
type CommitDeferral interface {
	// SyncsWith reports whether a successful append to runs makes every
	// write this store committed before it durable: whether they write to
	// the same database. When unsure, it reports false.
	SyncsWith(runs Runs) bool

	// Sync makes every write this store committed before the call durable.
	Sync(ctx context.Context) error
}

// deferKey marks a context of [DeferCommits].
type deferKey struct{}

// DeferCommits returns ctx marked so that a store implementing
// [CommitDeferral] commits the write transactions it runs under it without
// waiting for them to be durable. Only a caller that makes them durable
// before it acknowledges anything (see CommitDeferral) may use it.
func DeferCommits(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferKey{}, true)
}

// CommitsDeferred reports whether ctx carries the mark of [DeferCommits].
func CommitsDeferred(ctx context.Context) bool {
	v, _ := ctx.Value(deferKey{}).(bool)
	return v
}

// DurableCommits returns ctx without the mark of [DeferCommits]: for work
// that must be durable when it returns, or that runs beyond the operation
// that marked ctx.
func DurableCommits(ctx context.Context) context.Context {
	if !CommitsDeferred(ctx) {
		return ctx
	}
	return context.WithValue(ctx, deferKey{}, false)
}
