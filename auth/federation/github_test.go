package federation_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-go/gatehouse/auth"
	"github.com/gatehouse-go/gatehouse/auth/federation"
	"github.com/gatehouse-go/gatehouse/internal/fedtest"
	"github.com/gatehouse-go/gatehouse/internal/testhash"
	"github.com/gatehouse-go/gatehouse/mail"
	"github.com/gatehouse-go/gatehouse/store/memstore"
)

func newGitHubClient(t *testing.T, gh *fedtest.GitHub, edit func(*federation.Provider), keys ...auth.FactorKey) (*federation.Client, *auth.Manager, *memstore.Store) {
	t.Helper()
	st := memstore.New()
	m, err := auth.New(auth.Config{Store: st, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: randomKey(t)},
		Password: auth.PasswordConfig{Hasher: testhash.Fast{}}, Factors: auth.FactorConfig{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	p := federation.GitHub(gh.ClientID, gh.ClientSecret, callback)
	p.GitHub = &federation.GitHubEndpoints{AuthURL: gh.URL() + "/login/oauth/authorize", TokenURL: gh.URL() + "/login/oauth/access_token", APIURL: gh.URL()}
	if edit != nil {
		edit(&p)
	}
	c, err := federation.New(t.Context(), m, st, p, federation.Options{})
	if err != nil {
		t.Fatalf("federation.New: %v", err)
	}
	return c, m, st
}

// TestGitHubLogin: GitHub's plain OAuth 2.0 against a GitHub-shaped
// server: PKCE S256 and the client secret at the token endpoint, the
// numeric id as the subject under GitHubIssuer, the primary verified
// email; no provider token kept by default. SECURITY.md #85, #88, #89.
func TestGitHubLogin(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "old@example.org", Verified: true}, fedtest.Email{Email: "Octo@Example.org", Primary: true, Verified: true})
	c, _, st := newGitHubClient(t, gh, nil)
	s, err := c.Start(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(s.URL); u.Query().Get("nonce") != "" || !strings.Contains(u.Query().Get("scope"), "user:email") {
		t.Errorf("authorization URL %s: want no nonce and the user:email scope", s.URL)
	}
	res, _, err := c.Callback(t.Context(), s.BrowserSecret, fedtest.Follow(t, s.URL))
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if res.Tokens == nil || res.User.Email != "octo@example.org" || !res.User.IsVerified {
		t.Errorf("result = %+v, want octo@example.org verified with tokens", res)
	}
	id, u, err := st.IdentityUser(t.Context(), federation.GitHubIssuer, "4242")
	if err != nil || u.ID != res.User.ID || id.Provider != "github" || len(id.Tokens) != 0 {
		t.Fatalf("identity (github, 4242) = %+v, %v; want the user's, no tokens", id, err)
	}
	// The login name changes; the account is found by the id.
	gh.Login = "renamed"
	s, _ = c.Start(t.Context(), "")
	res2, _, err := c.Callback(t.Context(), s.BrowserSecret, fedtest.Follow(t, s.URL))
	if err != nil || res2.User.ID != res.User.ID {
		t.Errorf("after a rename: %v, %v; want the same user", res2, err)
	}
}

// TestGitHubUnverifiedPrimaryEmail: an unverified primary email (even with
// a verified secondary one) is not used: no account is created.
// SECURITY.md #88.
func TestGitHubUnverifiedPrimaryEmail(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "victim@example.org", Primary: true}, fedtest.Email{Email: "mine@example.org", Verified: true})
	c, _, st := newGitHubClient(t, gh, nil)
	s, _ := c.Start(t.Context(), "")
	if _, _, err := c.Callback(t.Context(), s.BrowserSecret, fedtest.Follow(t, s.URL)); !errors.Is(err, auth.ErrProviderEmailUnverified) {
		t.Fatalf("err = %v, want ErrProviderEmailUnverified", err)
	}
	for _, e := range []string{"victim@example.org", "mine@example.org"} {
		if _, err := st.UserByEmail(t.Context(), e); err == nil {
			t.Errorf("an account was created for %s", e)
		}
	}
}

// TestGitHubPKCERequired: the token endpoint gets the verifier of the
// challenge; a code replayed by another browser's flow (another
// verifier) is refused by the server. SECURITY.md #85.
func TestGitHubPKCERequired(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "octo@example.org", Primary: true, Verified: true})
	c, _, _ := newGitHubClient(t, gh, nil)
	victim, _ := c.Start(t.Context(), "")
	stolen := fedtest.Follow(t, victim.URL) // the victim's code
	attacker, _ := c.Start(t.Context(), "")
	q := fedtest.Follow(t, attacker.URL)
	q.Set("code", stolen.Get("code")) // with the attacker's own state and secret
	if _, _, err := c.Callback(t.Context(), attacker.BrowserSecret, q); !errors.Is(err, federation.ErrProvider) || !errors.Is(err, auth.ErrFederationFailed) {
		t.Fatalf("stolen code: err = %v, want ErrProvider", err)
	}
	if n, refused := gh.Counts(); n != 1 || refused != 1 {
		t.Errorf("token requests %d, refused %d; want 1 and 1", n, refused)
	}
}

// TestKeepTokens: with Provider.KeepTokens the identity row holds the
// provider's access token sealed, Client.Tokens opens it; New refuses
// KeepTokens without the Manager's keys. SECURITY.md #89.
func TestKeepTokens(t *testing.T) {
	gh := fedtest.NewGitHub(t)
	gh.SetEmails(fedtest.Email{Email: "octo@example.org", Primary: true, Verified: true})
	key := auth.FactorKey{ID: "k1", Key: randomKey(t)}
	c, _, st := newGitHubClient(t, gh, func(p *federation.Provider) { p.KeepTokens = true }, key)
	s, _ := c.Start(t.Context(), "")
	res, _, err := c.Callback(t.Context(), s.BrowserSecret, fedtest.Follow(t, s.URL))
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	tok, err := c.Tokens(t.Context(), res.User.ID, "4242")
	if err != nil || !strings.HasPrefix(tok.AccessToken, "gho_") {
		t.Fatalf("Tokens = %+v, %v; want the provider's access token", tok, err)
	}
	id, _, _ := st.IdentityUser(t.Context(), federation.GitHubIssuer, "4242")
	if len(id.Tokens) == 0 || strings.Contains(string(id.Tokens), tok.AccessToken) {
		t.Errorf("stored tokens %q: want ciphertext", id.Tokens)
	}
	st2 := memstore.New()
	m, _ := auth.New(auth.Config{Store: st2, Mailer: mail.Discard{}, Tokens: auth.TokenConfig{SigningKey: randomKey(t)}, Password: auth.PasswordConfig{Hasher: testhash.Fast{}}})
	p := federation.GitHub("id", "secret", callback)
	p.KeepTokens = true
	if _, err := federation.New(t.Context(), m, st2, p, federation.Options{}); !errors.Is(err, auth.ErrTokensUnsealable) {
		t.Errorf("KeepTokens without keys: err = %v, want ErrTokensUnsealable", err)
	}
}
