// Package auth is the heart of Gatehouse: a [Manager] that runs the whole
// user lifecycle — register, verify email, login with access and refresh
// tokens, authenticate requests, refresh, change and reset passwords,
// update profiles, delete accounts, log out, list and end sessions, and the
// superuser overview — over a pluggable [store.Store].
//
// # Quick start
//
//	m, err := auth.New(auth.Config{
//		Store:  memstore.New(),                    // or sqlstore
//		Mailer: mail.NewCapture(),                 // or mail.SMTP, mail.Folder, ...
//		Tokens: auth.TokenConfig{SigningKey: key}, // ≥ 32 random bytes
//	})
//	u, err := m.Register(ctx, auth.Registration{Email: "ada@example.com", Password: "correct horse battery"})
//	res, err := m.Login(ctx, "ada@example.com", "correct horse battery")
//	id, err := m.Authenticate(ctx, res.Tokens.AccessToken) // on every request
//	pair, err := m.Refresh(ctx, res.Tokens.RefreshToken)   // when the access token expires
//
// The middleware package wraps [Manager.Authenticate] for net/http, and the
// httpapi package serves the whole lifecycle as a REST API.
//
// # Pluggable parts
//
// The Manager consumes four small interfaces: [store.Store] (memstore,
// sqlstore or your own, checked by storetest), [Mailer] (see package mail),
// [Hasher] ([password.NewArgon2id], the default, and [password.NewBcrypt]) and [TokenIssuer]
// ([JWT] over package auth/jwt: HS256 or Ed25519 with key rotation by
// kid). [Hasher] takes no
// context because it is pure CPU work; every other method that may do I/O
// takes a context first. Every operation reports one [Event] to the logger
// and to Config.OnEvent, the seam for audit logs and metrics.
//
// # Audit log and analytics
//
// They live in package audit, outside the authentication core. Give an
// audit.Recorder to Config.Audit (any [EventSink] will do) and every
// [Event] is also stored as a run whose entries say what happened (event,
// outcome, internal reason, actor, a salted hash of the session, client IP
// and user agent, login_latency) and never a secret; an audit.Reader lets
// superusers page through runs and compute analytics. Without Config.Audit
// nothing is recorded, and the store need not implement store.Runs.
//
// # Second factors
//
// With Config.Factors on (an application key in Config.Factors.Keys, and a
// store that implements store.SecondFactors, as memstore and sqlstore do), a user
// enrols a TOTP authenticator with [Manager.EnrollTOTP] (the current
// password is the proof) and confirms it with a first code through
// [Manager.ConfirmTOTP], which returns ten single-use recovery codes for
// the first factor. From then on [Manager.Login] answers with a
// [Challenge] and no tokens, and [Manager.CompleteLogin] takes a TOTP or
// recovery code and issues the session:
//
//	res, err := m.Login(ctx, email, password)
//	if res.Challenge != nil {
//		res, err = m.CompleteLogin(ctx, res.Challenge.Token, auth.MethodTOTP, code)
//	}
//
// TOTP secrets are stored sealed with AES-256-GCM under a key ID (rotate by
// putting a new key first), codes are accepted once, within ±1 step, a
// challenge lasts at most 5 minutes and takes 5 answers, and wrong codes
// are throttled like wrong passwords. [Manager.RemoveFactor] and
// [Manager.RegenerateRecoveryCodes] need the current password; every change
// is an [Event] and a mail to the user. [Manager.ResetFactors] lets a
// superuser remove another user's factors. Without a capable store every
// factor operation returns [ErrFactorsUnavailable].
//
// # Passwordless email login
//
// With Config.Passwordless on (and a store that implements
// store.EmailLogins, as memstore and sqlstore do), [Manager.RequestEmailLogin]
// mails a link (Config.BaseURL + "/login/email?token=…") and a 6-digit
// code, and answers at once with a random login ID whatever the address;
// [Manager.EmailLoginWithLink] takes the link's token and
// [Manager.EmailLoginWithCode] the login ID and the code. Either ends as
// Login does, with a [Challenge] for a user with a second factor:
//
//	l, err := m.RequestEmailLogin(ctx, email) // show l.LoginID's form
//	res, err := m.EmailLoginWithCode(ctx, l.LoginID, code)
//
// The link and the code are one single-use login (15 and 10 minutes, 5
// guesses at the code, throttled like passwords); a password change, a
// reset, an email change or a deactivation kills it. It proves the address,
// so an unverified account becomes verified, losing the password nobody
// had proved the address for.
//
// # Errors
//
// Operations return the sentinels of this package (test them with
// [errors.Is]) or, for bad input, a *[ValidationError] or *[password.PolicyError]
// (use [errors.As]). Anything else is an internal failure, typically the
// store's: answer it generically and log it. Errors never contain secrets.
//
// # Security
//
// The defaults follow OWASP ASVS 5 and NIST SP 800-63B-4; the repository's
// SECURITY.md holds the threat model and lists each requirement with the
// test that proves it (SECURITY.md §1). In short: argon2id with OWASP's parameters, concurrent hashing bounded;
// exactly one hash on every login path; the same answer for unknown emails
// and wrong passwords, and for reset requests whatever the email; passwords
// checked for length and against a blocklist on every path that sets one,
// never truncated; access tokens are short-lived JWTs with pinned
// algorithms, strict parsing and required exp, iss and aud, checked against
// the store on every request (so logout and revocation are immediate);
// refresh tokens are opaque, 256-bit, stored hashed, rotated on every use,
// and a reused one revokes its whole session; reset and verification
// tokens are single-use, short-lived and stored hashed; a password change
// or reset ends the other sessions; superuser rights are enforced here, not
// only in middleware.
package auth
