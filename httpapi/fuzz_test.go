package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

// Fuzz targets for every JSON body the API parses (SECURITY.md #68). The
// invariant: no panic, never a 500, a status from the endpoint's set, and
// a JSON answer in the envelope or error shape with the usual headers.
// Run one with, for example:
//
//	go test ./httpapi -run '^$' -fuzz FuzzRegisterJSON -fuzztime 30s

// fuzzFixture is an API over memstore with a logged-in user and a
// superuser, handled in-process.
type fuzzFixture struct {
	api    http.Handler
	user   string // access token of alice@example.com
	admin  string // access token of a superuser
	userID string
	bobID  string
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	f.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	rec, err := audit.New(audit.Config{Runs: st, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	m, err := auth.New(auth.Config{
		Store: st, Mailer: mail.Discard{}, Audit: rec,
		Tokens:   auth.TokenConfig{SigningKey: key},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}, LegacyHashers: []auth.Hasher{}},
		Now:      func() time.Time { return now },
		// The clock stands still, so rate limits would soon answer every
		// input with 429 and fuzzing would stop reaching the handlers
		// (limits have tests of their own).
		Limits: auth.Limits{Disabled: true},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Flush(context.Background()) })
	ctx := context.Background()
	alice, err := m.Register(ctx, auth.Registration{Email: "alice@example.com", Password: alicePW})
	if err != nil {
		f.Fatal(err)
	}
	bob, err := m.Register(ctx, auth.Registration{Email: "bob@example.com", Password: bobPW})
	if err != nil {
		f.Fatal(err)
	}
	res, err := m.Login(ctx, "alice@example.com", alicePW)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := m.EnsureSuperuser(ctx, "admin@example.com", adminPW); err != nil {
		f.Fatal(err)
	}
	adm, err := m.Login(ctx, "admin@example.com", adminPW)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range []any{0.1, "0.25", 7, "slow", 1.7e308, 1.7e308} {
		if _, err := rec.RecordRun(ctx, "RETRIEVAL", audit.Entry("search_latency", v)); err != nil {
			f.Fatal(err)
		}
	}
	reader, err := audit.NewReader(m, st)
	if err != nil {
		f.Fatal(err)
	}
	api, err := httpapi.New(m, httpapi.Config{Audit: reader})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzFixture{api: api, user: res.Tokens.AccessToken, admin: adm.Tokens.AccessToken, userID: alice.ID, bobID: bob.ID}
}

// check sends body and asserts the invariant.
func (fx *fuzzFixture) check(t *testing.T, method, path, ctype string, withToken bool, body []byte, allowed ...int) {
	token := ""
	if withToken {
		token = fx.user
	}
	fx.checkAs(t, token, method, path, ctype, body, allowed...)
}

// checkAs is check with a given bearer token ("" for none).
func (fx *fuzzFixture) checkAs(t *testing.T, token, method, path, ctype string, body []byte, allowed ...int) {
	r := httptest.NewRequest(method, "/v2"+path, bytes.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	fx.api.ServeHTTP(rec, r)
	if !slices.Contains(allowed, rec.Code) {
		t.Fatalf("%s %s %q: status %d not in %v: %s", method, path, body, rec.Code, allowed, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, rec.Body)
	}
	_, results := v["results"]
	_, detail := v["detail"]
	if rec.Code == 200 && !results || rec.Code != 200 && (!detail || v["error_type"] == nil || v["message"] == nil) {
		t.Fatalf("answer has the wrong shape: %d %s", rec.Code, rec.Body)
	}
}

func FuzzRegisterJSON(f *testing.F) {
	for _, s := range []string{
		`{"email":"new@example.com","password":"` + alicePW + `"}`,
		`{"email":"alice@example.com","password":"` + alicePW + `"}`,
		`{"email":["a@example.com","b@example.com"],"password":"x"}`,
		`{"email":"a\u0000@b.c","password":"x","name":"\ud800"}`,
		`{"email":"x@example.com","password":"` + alicePW + `","profile_picture":"javascript:alert(1)"}`,
		`{"email":"x@example.com","password":"` + alicePW + `"}{}`,
	} {
		f.Add([]byte(s))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "POST", "/register", "application/json", false, body, 200, 400, 413, 422)
	})
}

func FuzzLoginJSON(f *testing.F) {
	for _, s := range []string{
		`{"email":"alice@example.com","password":"` + alicePW + `"}`,
		`{"username":"alice@example.com","password":"wrong"}`,
		`{"username":"a","email":"b","password":null,"grant_type":[1]}`,
		"username=alice%40example.com&password=x&scope=",
		`{"password":"` + alicePW + `","email":"ALICE@EXAMPLE.COM "}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		ctype := "application/json"
		if form {
			ctype = "application/x-www-form-urlencoded"
		}
		fx.check(t, "POST", "/login", ctype, false, body, 200, 401, 413, 422)
	})
}

func FuzzVerifyEmailJSON(f *testing.F) {
	for _, s := range []string{
		`{"email":"alice@example.com","verification_code":"123456"}`,
		`{"verification_code":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"}`,
		`"123456"`,
		`"\udbff\udfff"`,
		`{"email":null,"verification_code":{}}`,
	} {
		f.Add([]byte(s))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "POST", "/verify_email", "application/json", false, body, 200, 400, 413, 422)
	})
}

func FuzzRefreshBody(f *testing.F) {
	for _, s := range []string{
		`"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"`,
		`{"refresh_token":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"}`,
		"refresh_token=abc&grant_type=refresh_token",
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY",
		"eyJhbGciOiJIUzI1NiJ9.e30.x",
	} {
		for i := range 3 {
			f.Add([]byte(s), uint8(i))
		}
	}
	fx := newFuzzFixture(f)
	ctypes := []string{"application/json", "application/x-www-form-urlencoded", "text/plain", ""}
	f.Fuzz(func(t *testing.T, body []byte, ct uint8) {
		fx.check(t, "POST", "/refresh_access_token", ctypes[int(ct)%len(ctypes)], false, body, 200, 401, 413, 422)
	})
}

func FuzzRequestResetJSON(f *testing.F) {
	for _, s := range []string{`"alice@example.com"`, `{"email":"nobody@example.com"}`, `{"email":["a@b.c","d@e.f"]}`, `"a@b.c" "d@e.f"`} {
		f.Add([]byte(s))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "POST", "/request_password_reset", "application/json", false, body, 200, 413, 422)
	})
}

func FuzzSendVerificationJSON(f *testing.F) {
	for _, s := range []string{`"alice@example.com"`, `{"email":"nobody@example.com"}`, `{"email":["a@b.c","d@e.f"]}`, `"a@b.c" "d@e.f"`} {
		f.Add([]byte(s))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "POST", "/send_verification_email", "application/json", false, body, 200, 413, 422)
	})
}

func FuzzResetPasswordJSON(f *testing.F) {
	for _, s := range []string{
		`{"reset_token":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY","new_password":"` + newPW + `"}`,
		`{"reset_token":"","new_password":""}`,
		`{"new_password":"x"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte, inPath bool) {
		path := "/reset_password"
		if inPath {
			path += "/QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"
		}
		fx.check(t, "POST", path, "application/json", false, body, 200, 400, 413, 422)
	})
}

func FuzzChangePasswordJSON(f *testing.F) {
	for _, s := range []string{
		`{"current_password":"wrong","new_password":"` + newPW + `"}`,
		`{"current_password":"` + alicePW + `","new_password":"short"}`,
		`{"current_password":true}`,
	} {
		f.Add([]byte(s))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "POST", "/change_password", "application/json", true, body, 200, 400, 401, 413, 422)
	})
}

func FuzzUpdateUserJSON(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range []string{
		`{"name":"Alice","bio":"x\ny","profile_picture":"https://example.com/a.png"}`,
		`{"user_id":"` + fx.bobID + `","name":"pwned"}`,
		`{"user_id":"` + fx.userID + `","is_superuser":true}`,
		`{"email":"new@example.com","current_password":"` + alicePW + `"}`,
		`{"is_active":false}`,
		`{"name":"\u202e","bio":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.check(t, "PUT", "/user", "application/json", true, body, 200, 400, 401, 403, 404, 413, 422)
	})
}

func FuzzDeleteUserJSON(f *testing.F) {
	fx := newFuzzFixture(f)
	for _, s := range []string{
		``,
		`{"password":"wrong"}`,
		`{"password":"wrong","delete_vector_data":true}`,
		`{"user_id":"` + fx.bobID + `","password":"wrong"}`,
		`{"delete_vector_data":"yes"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, byBody bool) {
		path := "/user/" + fx.userID
		if byBody {
			path = "/user"
		}
		fx.check(t, "DELETE", path, "application/json", true, body, 200, 400, 401, 403, 404, 413, 422)
	})
}

// FuzzAnalyticsQuery: the JSON query parameters of GET /analytics,
// filter_criteria and analysis_types, as R2R's clients URL-encode them.
func FuzzAnalyticsQuery(f *testing.F) {
	for _, s := range [][2]string{
		{`{"search_latencies": "search_latency"}`, `{"search_latencies": ["basic_statistics", "search_latency"]}`},
		{`{"filters": {"p": "search_latency"}}`, `{"analysis_types": {"p": ["percentile", "search_latency", "90"]}}`},
		{`{"p": {"key": "outcome", "where": {"event": "login"}}}`, `{"p": ["counts", "outcome"]}`},
		{`{"p": "search_latency"}`, `{"p": ["histogram", "search_latency", "0.1", "1e308", 5]}`},
		{`{"p": "search_latency"}`, `{"q": ["bar_chart"]}`},
		{`{"p": "x", "p": "y"}`, `[]`},
		{`{"\ud800": "x"}`, `{"p": ["mode", "x"]}`},
		{``, ``},
	} {
		f.Add(s[0], s[1])
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, filterCriteria, analysisTypes string) {
		q := url.Values{"filter_criteria": {filterCriteria}, "analysis_types": {analysisTypes}}
		fx.checkAs(t, fx.admin, "GET", "/analytics?"+q.Encode(), "application/json", nil, 200, 400, 422)
	})
}

// FuzzLogsQuery: the query string of GET /logs.
func FuzzLogsQuery(f *testing.F) {
	for _, s := range []string{
		"offset=0&limit=10&run_type_filter=RETRIEVAL",
		"run_type_filter=AUTH&max_runs=2",
		"limit=1001",
		"since=2026-03-01T00:00:00Z&until=2026-03-02T00:00:00%2B01:00&user_id=5f0c8a52-3c57-4d4b-9c51-2b1f6a1e0b7d",
		"before=abc&offset=-1",
		"run_type_filter=%ff&before=%00",
	} {
		f.Add(s)
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/v2/logs", nil)
		r.URL.RawQuery = query
		r.Header.Set("Authorization", "Bearer "+fx.admin)
		rec := httptest.NewRecorder()
		fx.api.ServeHTTP(rec, r)
		if rec.Code != 200 && rec.Code != 422 {
			t.Fatalf("%q: status %d: %s", query, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q: not JSON: %s", query, rec.Body)
		}
	})
}
