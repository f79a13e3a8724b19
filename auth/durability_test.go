package auth_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/store"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// deferringStore is a memstore that implements store.CommitDeferral and
// notes, for each write of interest, whether its context asked for a
// deferred commit.
type deferringStore struct {
	*memstore.Store
	syncsWith bool

	mu     sync.Mutex
	writes []string // "CreateSession deferred", "RotateRefreshToken durable", …
	syncs  int
}

func (s *deferringStore) note(ctx context.Context, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	how := " durable"
	if store.CommitsDeferred(ctx) {
		how = " deferred"
	}
	s.writes = append(s.writes, op+how)
}

func (s *deferringStore) taken() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writes
	s.writes = nil
	return w
}

func (s *deferringStore) CreateSession(ctx context.Context, sess *store.Session, refreshHash []byte) error {
	s.note(ctx, "CreateSession")
	return s.Store.CreateSession(ctx, sess, refreshHash)
}

func (s *deferringStore) RotateRefreshToken(ctx context.Context, r store.Rotation) (*store.Session, *store.User, error) {
	s.note(ctx, "RotateRefreshToken")
	return s.Store.RotateRefreshToken(ctx, r)
}

func (s *deferringStore) RevokeSession(ctx context.Context, userID, id string) error {
	s.note(ctx, "RevokeSession")
	return s.Store.RevokeSession(ctx, userID, id)
}

func (s *deferringStore) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (*store.User, error) {
	s.note(ctx, "UpdateUser")
	return s.Store.UpdateUser(ctx, id, upd)
}

func (s *deferringStore) SyncsWith(runs store.Runs) bool {
	return s.syncsWith && runs == store.Runs(s)
}

func (s *deferringStore) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return nil
}

// durableSink is an auth.DurableSink over a store.Runs, whose recordings
// fail while fail is set; it notes whether each recording's context still
// asked for deferred commits.
type durableSink struct {
	runs store.Runs

	mu           sync.Mutex
	fail         bool
	deferredSeen bool
	recorded     int
}

func (d *durableSink) RecordEvent(ctx context.Context, e auth.Event) {
	_ = d.RecordEventDurably(ctx, e)
}

func (d *durableSink) RecordEventDurably(ctx context.Context, _ auth.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deferredSeen = d.deferredSeen || store.CommitsDeferred(ctx)
	d.recorded++
	if d.fail {
		return errors.New("sink down")
	}
	return nil
}

func (d *durableSink) EventStore() store.Runs { return d.runs }

func newDeferringEnv(t *testing.T, syncsWith bool) (*env, *deferringStore, *durableSink, *bool) {
	t.Helper()
	ds := &deferringStore{Store: memstore.New(), syncsWith: syncsWith}
	sink := &durableSink{runs: ds}
	onEventDeferred := new(bool)
	e := newEnv(t, func(c *auth.Config) {
		c.Store, c.Limits.Store = ds, ds
		c.Audit = sink
		next := c.OnEvent
		c.OnEvent = func(ctx context.Context, ev auth.Event) {
			*onEventDeferred = *onEventDeferred || store.CommitsDeferred(ctx)
			next(ctx, ev)
		}
	})
	return e, ds, sink, onEventDeferred
}

// TestDeferredCommits: with an audit sink that appends durably to the
// Manager's own database (store.CommitDeferral.SyncsWith), the writes of
// Login, Refresh and Logout are made under a context that defers their
// commit, and no other operation's are; the sink's append itself, and
// OnEvent, get a context without the mark; a failed append makes the
// Manager call Sync.
func TestDeferredCommits(t *testing.T) {
	ctx := context.Background()
	e, ds, sink, onEventDeferred := newDeferringEnv(t, true)
	e.register(t, "ada@example.com")
	ds.taken()

	res := e.login(t, "ada@example.com")
	if got, want := ds.taken(), []string{"CreateSession deferred"}; !slices.Equal(got, want) {
		t.Errorf("Login's writes: %q, want %q", got, want)
	}
	pair, err := e.m.Refresh(ctx, res.Tokens.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ds.taken(), []string{"RotateRefreshToken deferred"}; !slices.Equal(got, want) {
		t.Errorf("Refresh's writes: %q, want %q", got, want)
	}
	id := e.identity(t, pair.AccessToken)
	if _, err := e.m.UpdateProfile(ctx, id, auth.ProfileUpdate{Name: ptr("Ada")}); err != nil {
		t.Fatal(err)
	}
	for _, w := range ds.taken() {
		if w != "UpdateUser durable" {
			t.Errorf("UpdateProfile wrote %q: only the listed operations may defer", w)
		}
	}
	if err := e.m.Logout(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, want := ds.taken(), []string{"RevokeSession deferred"}; !slices.Equal(got, want) {
		t.Errorf("Logout's writes: %q, want %q", got, want)
	}
	if sink.deferredSeen || *onEventDeferred {
		t.Errorf("the sink (%v) or OnEvent (%v) got a context that defers commits", sink.deferredSeen, *onEventDeferred)
	}
	if ds.syncs != 0 {
		t.Errorf("Sync called %d times while every append succeeded", ds.syncs)
	}

	// A failed append: the operation's writes are made durable by Sync.
	sink.mu.Lock()
	sink.fail = true
	sink.mu.Unlock()
	res = e.login(t, "ada@example.com")
	if ds.syncs != 1 {
		t.Errorf("after a login whose event's append failed: %d Syncs, want 1", ds.syncs)
	}
	if _, err := e.m.Refresh(ctx, res.Tokens.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if ds.syncs != 2 {
		t.Errorf("after a refresh whose event's append failed: %d Syncs, want 2", ds.syncs)
	}
}

// TestNoDeferredCommitsElsewhere: when the sink does not append to the
// Manager's database, nothing is deferred and nothing synced.
func TestNoDeferredCommitsElsewhere(t *testing.T) {
	e, ds, sink, _ := newDeferringEnv(t, false)
	e.register(t, "ada@example.com")
	res := e.login(t, "ada@example.com")
	if _, err := e.m.Refresh(context.Background(), res.Tokens.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for _, w := range ds.taken() {
		if w != "CreateSession durable" && w != "RotateRefreshToken durable" && w != "UpdateUser durable" {
			t.Errorf("write %q: nothing may be deferred when the audit log is elsewhere", w)
		}
	}
	sink.mu.Lock()
	sink.fail = true
	sink.mu.Unlock()
	e.login(t, "ada@example.com")
	if ds.syncs != 0 {
		t.Errorf("%d Syncs without deferred commits", ds.syncs)
	}
}

// TestDeferredCommitsNeedTheManager: a context the caller marked with
// store.DeferCommits defers nothing in a Manager whose audit log is
// elsewhere, and a failed append then calls no Sync (nor panics).
func TestDeferredCommitsNeedTheManager(t *testing.T) {
	e, ds, sink, _ := newDeferringEnv(t, false)
	e.register(t, "ada@example.com")
	ds.taken()
	sink.mu.Lock()
	sink.fail = true
	sink.mu.Unlock()
	if _, err := e.m.Login(store.DeferCommits(context.Background()), "ada@example.com", goodPassword); err != nil {
		t.Fatal(err)
	}
	if got, want := ds.taken(), []string{"CreateSession durable"}; !slices.Equal(got, want) {
		t.Errorf("Login's writes under a caller's mark: %q, want %q", got, want)
	}
	if ds.syncs != 0 {
		t.Errorf("%d Syncs", ds.syncs)
	}
}
