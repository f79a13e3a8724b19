package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-go/gatehouse/audit"
	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/password"
	"github.com/gatehouse-go/gatehouse/httpapi"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store"
)

// The account every figure uses.
const (
	benchEmail    = "bench@example.com"
	benchPassword = "correct horse battery staple"
)

// The names of the figures, and of their baselines, in the order they run.
const (
	figAuthenticate    = "authenticate"
	figUncached        = "authenticate_uncached"
	figUserByID        = "store_user_by_id"
	figSessionLookup   = "store_session_lookup"
	figRefreshRotation = "store_refresh_rotation"
	figGetUser         = "http_get_user"
	figHTTPRefresh     = "http_refresh"
	figRecording       = "refresh_recording_on_over_off"
	figLogin           = "login"
	figHTTPLogin       = "http_login"

	baseJWT       = "jwt_parse"
	basePlain     = "plain_handler"
	baseRecording = "refresh_recording_off"
	baseHasher    = "argon2id_verify"
)

// figureSpec is one figure: how to measure it and its baseline.
type figureSpec struct {
	name, baseline string
	hashBound      bool // measured for profile.hashD
	value, base    workload
}

// bench holds what the figures of one store share: a Manager without an
// audit log over the store, its API, and a logged-in user.
type bench struct {
	b       *backend
	key     []byte
	hasher  *password.Argon2id
	m       *auth.Manager
	api     *httpapi.API
	client  context.Context // carries the client's IP, as an HTTP request's does
	login   *auth.LoginResult
	clients int
}

// newManager is a Manager over the store with the suite's hasher and key,
// and audit as its audit log when not nil.
func (s *bench) newManager(rec *audit.Recorder) (*auth.Manager, error) {
	cfg := auth.Config{
		Store:    s.b.st,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: s.key},
		Password: auth.PasswordConfig{Hasher: s.hasher},
	}
	if rec != nil {
		cfg.Audit = rec
	}
	return auth.New(cfg)
}

// clientContext is a context whose client is 192.0.2.n.
func clientContext(ctx context.Context, n int) context.Context {
	return auth.ContextWithClient(ctx, auth.Client{
		IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}), UserAgent: "gatehouse-bench/1.0",
	})
}

// runStore measures every figure on one store.
func runStore(ctx context.Context, b *backend, o *suiteOptions, hasher *password.Argon2id, progress io.Writer) ([]Figure, error) {
	s := &bench{b: b, key: make([]byte, 32), hasher: hasher, client: clientContext(ctx, 1), clients: o.clients}
	rand.Read(s.key)
	var err error
	if s.m, err = s.newManager(nil); err != nil {
		return nil, err
	}
	if s.api, err = httpapi.New(s.m, httpapi.Config{}); err != nil {
		return nil, err
	}
	if _, err := s.m.Register(s.client, auth.Registration{Email: benchEmail, Password: benchPassword}); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if s.login, err = s.m.Login(s.client, benchEmail, benchPassword); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	b.add(s.login.User)

	type builder func(context.Context) (figureSpec, func() error, error)
	builders := []builder{
		s.authenticate, s.authenticateUncached, s.userByID, s.sessionLookup, s.refreshRotation,
		s.getUser, s.httpRefresh, s.recording, s.loginFigure, s.httpLogin,
	}
	if b.recordingOnly {
		builders = []builder{s.recording}
	}
	var figures []Figure
	for i, build := range builders {
		spec, done, err := build(ctx)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "gatehouse-bench: %s: [%d/%d] %s vs %s\n", b.name, i+1, len(builders), spec.name, spec.baseline)
		d := o.d
		if spec.hashBound {
			d = o.hashD
		}
		v, base, err := pair(ctx, spec.value, spec.base, d, o.warm, o.rounds)
		if done != nil {
			err = errors.Join(err, done())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
		figures = append(figures, Figure{
			Name: spec.name, Store: b.name, Value: v, Unit: "op/s",
			Baseline: spec.baseline, BaselineValue: base, Ratio: v / base,
		})
	}
	return figures, s.m.Flush(ctx)
}

// authenticate: Manager.Authenticate of an access token (with the default
// Config, so the verified-token cache is on, and the session read from the
// store), against golang-jwt alone parsing and verifying the same token.
func (s *bench) authenticate(context.Context) (figureSpec, func() error, error) {
	token := s.login.Tokens.AccessToken
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}))
	keyfunc := func(*jwt.Token) (any, error) { return s.key, nil }
	return figureSpec{
		name: figAuthenticate, baseline: baseJWT,
		value: serial(func(ctx context.Context) error {
			_, err := s.m.Authenticate(ctx, token)
			return err
		}),
		base: serial(func(context.Context) error {
			_, err := parser.ParseWithClaims(token, &jwt.RegisteredClaims{}, keyfunc)
			return err
		}),
	}, nil, nil
}

// authenticateUncached: authenticate with the verified-token cache off
// (auth.Config.Tokens.VerifiedCacheSize -1), so that every call verifies
// the signature and claims, against the same bare parse.
func (s *bench) authenticateUncached(ctx context.Context) (figureSpec, func() error, error) {
	m, err := auth.New(auth.Config{
		Store:    s.b.st,
		Mailer:   mail.Discard{},
		Tokens:   auth.TokenConfig{SigningKey: s.key, VerifiedCacheSize: -1},
		Password: auth.PasswordConfig{Hasher: s.hasher},
	})
	if err != nil {
		return figureSpec{}, nil, err
	}
	spec, _, _ := s.authenticate(ctx)
	token := s.login.Tokens.AccessToken
	spec.name = figUncached
	spec.value = serial(func(ctx context.Context) error {
		_, err := m.Authenticate(ctx, token)
		return err
	})
	return spec, nil, nil
}

// lookupBaseline is the baseline of the store calls.
func (s *bench) lookupBaseline() workload {
	id := s.login.User.ID
	return serial(func(ctx context.Context) error { return s.b.lookup(ctx, id) })
}

func (s *bench) userByID(context.Context) (figureSpec, func() error, error) {
	id := s.login.User.ID
	return figureSpec{
		name: figUserByID, baseline: s.b.lookupName,
		value: serial(func(ctx context.Context) error {
			_, err := s.b.st.UserByID(ctx, id)
			return err
		}),
		base: s.lookupBaseline(),
	}, nil, nil
}

func (s *bench) sessionLookup(context.Context) (figureSpec, func() error, error) {
	id := s.login.Session.ID
	return figureSpec{
		name: figSessionLookup, baseline: s.b.lookupName,
		value: serial(func(ctx context.Context) error {
			_, _, err := s.b.st.SessionUser(ctx, id)
			return err
		}),
		base: s.lookupBaseline(),
	}, nil, nil
}

// chainHash is generation gen of a refresh-token chain's hashes.
func chainHash(chain string, gen int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "refresh %s %d", chain, gen))
	return h[:]
}

// refreshRotation: the store's atomic refresh-token rotation, one chain
// continuing from one call to the next, on a session of its own.
func (s *bench) refreshRotation(ctx context.Context) (figureSpec, func() error, error) {
	now := time.Now().UTC().Truncate(time.Second)
	sess := &store.Session{
		ID: uuid.NewString(), UserID: s.login.User.ID,
		CreatedAt: now, AuthenticatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(30 * 24 * time.Hour), IdleExpiresAt: now.Add(7 * 24 * time.Hour),
		IP: "192.0.2.1", UserAgent: "gatehouse-bench/1.0",
	}
	if err := s.b.st.CreateSession(ctx, sess, chainHash(sess.ID, 0)); err != nil {
		return figureSpec{}, nil, fmt.Errorf("create session: %w", err)
	}
	gen := 0
	return figureSpec{
		name: figRefreshRotation, baseline: s.b.lookupName,
		value: serial(func(ctx context.Context) error {
			_, _, err := s.b.st.RotateRefreshToken(ctx, store.Rotation{
				Old: chainHash(sess.ID, gen), New: chainHash(sess.ID, gen+1),
				Now: now.Add(time.Second), IdleExpiresAt: now.Add(time.Hour),
			})
			gen++
			return err
		}),
		base: s.lookupBaseline(),
	}, nil, nil
}

// plainHandler is the baseline of the endpoints: a net/http handler that
// writes a small JSON body, served the same way.
var plainHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}`))
})

// serve runs one request through h in process (the handler's ServeHTTP
// with a recorded response) and checks its status.
func serve(h http.Handler, method, path, token, body string) (*httptest.ResponseRecorder, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec, fmt.Errorf("%s %s: status %d: %s", method, path, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	return rec, nil
}

// plainBaseline is the plain handler serving a request like the
// endpoint's.
func plainBaseline(method, token, body string) workload {
	return serial(func(context.Context) error {
		_, err := serve(plainHandler, method, "/plain", token, body)
		return err
	})
}

func (s *bench) getUser(context.Context) (figureSpec, func() error, error) {
	token := s.login.Tokens.AccessToken
	return figureSpec{
		name: figGetUser, baseline: basePlain,
		value: serial(func(context.Context) error {
			_, err := serve(s.api, "GET", "/v2/user", token, "")
			return err
		}),
		base: plainBaseline("GET", token, ""),
	}, nil, nil
}

// refreshBody is a refresh request's body for token.
func refreshBody(token string) string {
	b, _ := json.Marshal(map[string]string{"refresh_token": token})
	return string(b)
}

// httpRefresh: POST /v2/refresh_access_token, one chain continuing from
// one request to the next (the new refresh token is decoded from each
// response, which the figure includes).
func (s *bench) httpRefresh(ctx context.Context) (figureSpec, func() error, error) {
	res, err := s.m.Login(s.client, benchEmail, benchPassword)
	if err != nil {
		return figureSpec{}, nil, err
	}
	token := res.Tokens.RefreshToken
	return figureSpec{
		name: figHTTPRefresh, baseline: basePlain,
		value: serial(func(context.Context) error {
			rec, err := serve(s.api, "POST", "/v2/refresh_access_token", "", refreshBody(token))
			if err != nil {
				return err
			}
			var body struct {
				Results struct {
					Refresh struct {
						Token string `json:"token"`
					} `json:"refresh_token"`
				} `json:"results"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Results.Refresh.Token == "" {
				return fmt.Errorf("refresh: no refresh token in the response (%v)", err)
			}
			token = body.Results.Refresh.Token
			return nil
		}),
		base: plainBaseline("POST", "", refreshBody(token)),
	}, nil, nil
}

// recording: Manager.Refresh from s.clients concurrent callers, each its
// own session's chain, with the audit log on (the group-committed
// audit.Recorder with its defaults, as examples/server has it, over the
// backend's Runs: the same store, or for sqlite-audit-file the audit
// log's own file) against the same with no audit log. Both Managers share the
// store, so the chains continue from one to the other.
func (s *bench) recording(ctx context.Context) (figureSpec, func() error, error) {
	rec, err := audit.New(audit.Config{Runs: s.b.runs})
	if err != nil {
		return figureSpec{}, nil, err
	}
	on, err := s.newManager(rec)
	if err != nil {
		return figureSpec{}, nil, err
	}
	// One login per caller, one after another: concurrent logins to one
	// account count as failures until they succeed, and would be
	// throttled.
	tokens := make([]string, s.clients)
	ctxs := make([]context.Context, s.clients)
	for i := range s.clients {
		ctxs[i] = clientContext(ctx, 10+i%200)
		res, err := s.m.Login(ctxs[i], benchEmail, benchPassword)
		if err != nil {
			return figureSpec{}, nil, fmt.Errorf("login: %w", err)
		}
		tokens[i] = res.Tokens.RefreshToken
	}
	refresh := func(m *auth.Manager) workload {
		return workload{workers: s.clients, op: func(_ context.Context, i int) error {
			pair, err := m.Refresh(ctxs[i], tokens[i])
			if err != nil {
				return err
			}
			tokens[i] = pair.RefreshToken
			return nil
		}}
	}
	done := func() error {
		return errors.Join(on.Flush(ctx), rec.Close(ctx))
	}
	return figureSpec{
		name: figRecording, baseline: baseRecording,
		value: refresh(on), base: refresh(s.m),
	}, done, nil
}

// verifyBaseline is one argon2id verification of the right password with
// the suite's hasher: the ceiling of logins.
func (s *bench) verifyBaseline() (workload, error) {
	hash, err := s.hasher.Hash(benchPassword)
	if err != nil {
		return workload{}, err
	}
	return serial(func(context.Context) error { return s.hasher.Compare(hash, benchPassword) }), nil
}

// loginFigure: Manager.Login over the store (throttle checks, user lookup,
// one argon2id verification, the new session), against the verification
// alone.
func (s *bench) loginFigure(context.Context) (figureSpec, func() error, error) {
	base, err := s.verifyBaseline()
	if err != nil {
		return figureSpec{}, nil, err
	}
	return figureSpec{
		name: figLogin, baseline: baseHasher, hashBound: true,
		value: serial(func(context.Context) error {
			_, err := s.m.Login(s.client, benchEmail, benchPassword)
			return err
		}),
		base: base,
	}, nil, nil
}

// httpLogin: POST /v2/login with a JSON body, against the verification
// alone.
func (s *bench) httpLogin(context.Context) (figureSpec, func() error, error) {
	base, err := s.verifyBaseline()
	if err != nil {
		return figureSpec{}, nil, err
	}
	body, _ := json.Marshal(map[string]string{"email": benchEmail, "password": benchPassword})
	return figureSpec{
		name: figHTTPLogin, baseline: baseHasher, hashBound: true,
		value: serial(func(context.Context) error {
			_, err := serve(s.api, "POST", "/v2/login", "", string(body))
			return err
		}),
		base: base,
	}, nil, nil
}
