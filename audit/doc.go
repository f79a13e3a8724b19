// Package audit is Gatehouse's audit log and analytics, kept out of the
// authentication core: an application that wants no audit log does not
// wire one.
//
// A [Recorder] is an auth.EventSink: given to auth.Config.Audit, it stores
// every event of the Manager as a run of type [RunTypeAuth] in a
// store.Runs (memstore and sqlstore implement it), and records runs of the
// application's own ([Recorder.RecordRun], [Recorder.RecordLatency]). A
// [Reader] answers superusers: a page of runs ([Reader.Logs]), R2R's
// analytics and ours ([Reader.Analytics]), and per-user activity for the
// users overview ([Reader.UserActivity]). Package httpapi serves them as
// /v2/logs and /v2/analytics when given a Reader.
//
//	rec, err := audit.New(audit.Config{Runs: st, Now: now, Logger: logger})
//	m, err := auth.New(auth.Config{Store: st, Audit: rec, ...})
//	reader, err := audit.NewReader(m, st)
//
// Every recording returns once its run is durable in the store, or has
// failed: an event the Recorder acknowledged is never lost. When the store
// implements store.RunBatch (memstore and sqlstore do), concurrent
// recordings commit together, in one transaction, by group commit: no
// goroutine of the Recorder's own, the first caller of an idle Recorder
// leads a batch of up to Config.MaxBatch runs (default 256), waiting up
// to Config.MaxWait (default 1 ms) for others to join only when the last
// batch had company, and the others wait for their run's outcome. A
// failed batch fails exactly its recordings, with the store's error. The
// Recorder is an auth.DurableSink: when it appends to the Manager's own
// database and that store implements store.CommitDeferral (sqlstore on
// PostgreSQL), the Manager's logins, refreshes and logouts commit their
// writes without waiting for the disk, and the durable append of their
// event makes them durable before they return. On
// shutdown, after the server has stopped taking requests, auth's
// Manager.Flush waits for a Recorder that is its Config.Audit (the
// Recorder is an auth.Flusher); [Recorder.Close] also refuses later
// recordings.
//
// Old runs are deleted by [Recorder.Purge], which the application
// schedules (Config.Retention, default 90 days).
package audit
