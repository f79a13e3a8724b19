package audit

import "net/http"

// RecordLatency returns net/http middleware that records, after each
// request it wraps, a run of runType with one entry: key, the time the
// wrapped handler took, in seconds (numeric, measured with the Recorder's
// clock). Superusers then analyse it with [Reader.Analytics], for example
// R2R's
//
//	analytics({"search_latencies": "search_latency"},
//	          {"search_latencies": ["basic_statistics", "search_latency"]})
//
// for a search handler wrapped in RecordLatency("RETRIEVAL", "search_latency").
//
// The run is about the authenticated user when the middleware package's
// Guard.Authenticate (or RequireAuth) runs before this middleware, as in
// g.Authenticate(rec.RecordLatency(...)(h)). It is recorded synchronously,
// after the handler returns and before the middleware does; a handler that
// panics is not recorded. A failure to record is logged (Config.Logger) and
// does not affect the response. runType and key must be valid for
// [Recorder.RecordRun] (runType not "AUTH").
func (rec *Recorder) RecordLatency(runType, key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := rec.Now()
			next.ServeHTTP(w, r)
			elapsed := rec.Now().Sub(start)
			if _, err := rec.RecordRun(r.Context(), runType, Entry(key, elapsed)); err != nil {
				rec.log.ErrorContext(r.Context(), "gatehouse: recording a latency failed",
					"run_type", runType, "key", key, "error", err.Error())
			}
		})
	}
}
