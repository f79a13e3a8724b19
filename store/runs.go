package store

import (
	"context"
	"math"
	"time"
)

// Run is one recorded unit of work with its entries, as R2R's logs know
// it: an authentication event (type "AUTH"), a search request of the
// application, and so on. Runs are immutable once appended.
type Run struct {
	// ID is unique among runs; Gatehouse uses random UUIDs.
	ID string
	// Type names the kind of run ("AUTH", "RETRIEVAL", ...). Never empty.
	Type string
	// UserID is the user the run is about, or empty when there is none.
	UserID string
	// Time is when the run was recorded.
	Time time.Time
	// Entries are the run's key/value pairs, oldest first. A run may have
	// none.
	Entries []Entry
}

// Entry is one key/value pair of a [Run].
type Entry struct {
	Key string
	// Value is the value as shown to readers of the log.
	Value string
	// Number is Value as a number when Numeric is set. It is always finite.
	// Statistics ([Runs.AggregateEntries]) use only numeric entries.
	Number  float64
	Numeric bool
	Time    time.Time
}

// LoggedEntry is an [Entry] together with the run it belongs to.
type LoggedEntry struct {
	RunID   string
	RunType string
	UserID  string
	Entry
}

// RunFilter selects runs. Every non-zero field narrows the selection; the
// zero RunFilter selects every run.
type RunFilter struct {
	// Types keeps runs whose Type is one of these.
	Types []string
	// UserIDs keeps runs whose UserID is one of these.
	UserIDs []string
	// Since keeps runs whose Time is not before it; Until keeps runs whose
	// Time is before it.
	Since, Until time.Time
	// Has keeps runs that have, for every pair, an entry with exactly that
	// key and value (for example {"event": "login"}).
	Has map[string]string
}

// RunQuery selects a page of [Runs.ListRuns].
type RunQuery struct {
	RunFilter
	// Before, when non-empty, starts the page after the run with this ID
	// in newest-first order (keyset paging); Offset then counts from
	// there.
	Before string
	// Offset skips that many runs. Limit caps the page; stores treat a
	// Limit ≤ 0 as 100.
	Offset int
	Limit  int
}

// RunPage is one page of [Runs.ListRuns].
type RunPage struct {
	// Runs are newest first, each with all of its entries in the order
	// they were appended.
	Runs []Run
	// Total is the number of runs the query's RunFilter selects, ignoring
	// Before, Offset and Limit.
	Total int
}

// Aggregation asks [Runs.AggregateEntries] for figures about one
// population: every entry whose Key equals Key, in the runs the embedded
// RunFilter selects. Figures marked "numeric" use only the population's
// numeric entries.
type Aggregation struct {
	// Key defines the population. Required.
	Key string
	RunFilter

	// Summary asks for [Aggregate.Summary].
	Summary bool
	// Quantiles asks, for each q in [0, 1], for the numeric values at the
	// ranks [QuantileRanks] gives.
	Quantiles []float64
	// TopNumbers asks for up to that many of the most frequent numeric
	// values; TopValues for up to that many of the most frequent values
	// (Entry.Value, numeric or not).
	TopNumbers int
	TopValues  int
	// Edges, when set, asks for a histogram of the numeric values over
	// the bins these strictly increasing, finite edges delimit.
	Edges []float64
	// Latest asks for up to that many of the population's newest entries.
	Latest int
}

// Aggregate is what [Runs.AggregateEntries] computes. Fields that were
// not asked for are zero.
type Aggregate struct {
	Summary Summary
	// Quantiles has one element per requested quantile, in order, or none
	// at all when the population has no numeric entry.
	Quantiles []Quantile
	// TopNumbers is ordered by Count descending, then Number ascending.
	TopNumbers []NumberCount
	// TopValues is ordered by Count descending, then Value ascending byte
	// by byte.
	TopValues []ValueCount
	// Histogram has len(Edges)+1 counts: Histogram[0] counts the numeric
	// values below Edges[0], Histogram[i] those in [Edges[i-1], Edges[i]),
	// and the last those not below the last edge.
	Histogram []int
	// Latest are the population's newest entries (the last ones appended),
	// listed newest run first and, within a run, in the run's entry order.
	Latest []LoggedEntry
}

// Summary describes a population.
type Summary struct {
	// Entries counts all of its entries; Numbers its numeric entries.
	Entries int
	Numbers int
	// Sum, Min and Max are over the numeric values (zero when there are
	// none).
	Sum, Min, Max float64
	// SumSquares is the sum of squared deviations of the numeric values
	// from their mean, Σ(x−mean)², computed as accurately as a two-pass
	// algorithm would (not as Σx² − (Σx)²/n, which cancels
	// catastrophically). The sample variance is SumSquares/(Numbers−1).
	SumSquares float64
}

// Quantile is a requested quantile of the numeric values sorted in
// ascending order: Lower is the value at the lower rank of
// [QuantileRanks], Upper the value at the upper rank. They are equal when
// the ranks are.
type Quantile struct {
	Lower, Upper float64
}

// NumberCount is a numeric value and how many entries have it.
type NumberCount struct {
	Number float64
	Count  int
}

// ValueCount is a value and how many entries have it.
type ValueCount struct {
	Value string
	Count int
}

// QuantileRanks returns the 0-based ranks, among n sorted values, that
// quantile q in [0, 1] falls between: lo = ⌊q·(n−1)⌋ and hi = ⌈q·(n−1)⌉,
// with q·(n−1) computed in float64 exactly as written, so that every store
// (and R2R, whose percentile is the value at lo for q = p/100) picks the
// same ranks. q outside [0, 1] is clamped; for n ≤ 0 both ranks are -1.
func QuantileRanks(q float64, n int) (lo, hi int) {
	if n <= 0 {
		return -1, -1
	}
	q = min(max(q, 0), 1)
	x := q * float64(n-1)
	lo, hi = int(math.Floor(x)), int(math.Ceil(x))
	return min(lo, n-1), min(hi, n-1)
}

// Runs stores recorded runs: the audit log of authentication events and
// the runs applications record. It is optional: a [Store] that implements
// it lets the auth Manager record and query runs.
//
// Runs are kept in the order they were appended. "Newest first" means the
// reverse of that order; runs recorded concurrently may carry Times that
// disagree with it by the time the recordings overlapped.
//
// Every method is safe for concurrent use. Runs passed in are copied; runs,
// entries and maps returned are fresh copies the caller may keep and change.
// Stores never read a clock. Times come back in UTC.
type Runs interface {
	// AppendRun stores r and its entries, atomically: readers see all of
	// it or nothing. It returns [ErrConflict] when a run with r.ID exists.
	// The caller guarantees a non-empty ID and Type and finite numbers.
	AppendRun(ctx context.Context, r *Run) error

	// ListRuns returns a page of the runs q selects, newest first, each
	// with all of its entries. A page past the end is empty, not an error,
	// and still carries Total. It returns [ErrNotFound] when q.Before names
	// no stored run. Skipping by Offset must not cost more than a page
	// when the filter is empty or is exactly one type (the /logs case).
	ListRuns(ctx context.Context, q RunQuery) (*RunPage, error)

	// AggregateEntries computes the figures a asks for about the entries
	// whose key is a.Key in the runs a selects. All figures are computed
	// over the same set of entries (one consistent snapshot). A store
	// computes them where the data lives (in SQL, for a SQL store) rather
	// than by loading the entries into memory.
	AggregateEntries(ctx context.Context, a Aggregation) (*Aggregate, error)

	// CountRunsByUser counts, per user, the runs f selects, and returns the
	// counts of users with at least one. Runs without a user are never
	// counted. When f.UserIDs is empty every user is counted.
	CountRunsByUser(ctx context.Context, f RunFilter) (map[string]int, error)

	// DeleteRunsBefore deletes old runs with their entries, oldest first:
	// starting from the oldest run in append order, it deletes runs until
	// it meets one whose Time is not before before, and returns how many
	// it deleted. So it never deletes a run whose Time is at or after
	// before, and a run older than before that was appended after a newer
	// one stays until a later call reaches it. (Deleting only from the
	// front keeps the append order gapless, which lets a store skip by
	// Offset in constant time.)
	DeleteRunsBefore(ctx context.Context, before time.Time) (int, error)
}

// RunBatch is implemented by [Runs] stores that can append several runs in
// one atomic step, typically one transaction. The audit Recorder uses it,
// when its store has it, to commit the runs of concurrent callers together
// (group commit); without it, the Recorder appends runs one by one with
// [Runs.AppendRun].
type RunBatch interface {
	// AppendRuns stores rs, in that order, atomically: readers see all of
	// them or none, and when it returns nil every one is as durable as
	// [Runs.AppendRun] makes a run. Appending rs is equivalent to appending
	// each in turn with AppendRun, with no other run appended in between,
	// except that it succeeds or fails as a whole: when any run cannot be
	// stored, none is, and the error is the one AppendRun would give for
	// it. In particular it returns [ErrConflict] when a run's ID is that of
	// a stored run or of another run in rs. The caller guarantees what
	// AppendRun asks of every run; a nil element is an error. With no runs
	// it stores nothing and returns nil. A store may split a large batch
	// into several statements, but never into several transactions.
	AppendRuns(ctx context.Context, rs []*Run) error
}
