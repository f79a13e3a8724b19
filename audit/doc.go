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
// Old runs are deleted by [Recorder.Purge], which the application
// schedules (Config.Retention, default 90 days).
package audit
