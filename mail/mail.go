package mail

import (
	"context"
	"time"
)

// Address is a mailbox with an optional display name.
type Address struct {
	Name  string
	Email string
}

// Kind says what a message is for. Mailers may log it; it is never secret.
type Kind string

// The kinds of message the auth Manager sends.
const (
	// KindVerifyEmail carries a code and a link that verify the address.
	KindVerifyEmail Kind = "verify_email"
	// KindResetPassword carries a password-reset token and link.
	KindResetPassword Kind = "reset_password"
	// KindPasswordChanged tells the user their password was changed or reset.
	KindPasswordChanged Kind = "password_changed"
	// KindChangeEmail goes to a new address and carries the link that
	// confirms it.
	KindChangeEmail Kind = "change_email"
	// KindEmailChangeNotice goes to the old address when a change to another
	// address is requested or made. For a pending change it carries the
	// token and link that cancel it.
	KindEmailChangeNotice Kind = "email_change_notice"
	// KindSignupAttempt goes to an account's owner when someone tries to
	// register their address again (uniform registration mode).
	KindSignupAttempt Kind = "signup_attempt"
	// KindAccountDeleted goes to the address of an account that was just
	// deleted, by its owner or (BySuperuser) by a superuser.
	KindAccountDeleted Kind = "account_deleted"
	// KindAccountDeactivated tells a user that an administrator deactivated
	// their account: they cannot sign in, and every device was signed out.
	KindAccountDeactivated Kind = "account_deactivated"
	// KindAccountReactivated tells a user that their account was
	// reactivated and they can sign in again.
	KindAccountReactivated Kind = "account_reactivated"
	// KindFactorAdded tells a user a second factor was added to their
	// account, KindFactorRemoved that one (or, with BySuperuser, every
	// one) was removed.
	KindFactorAdded   Kind = "factor_added"
	KindFactorRemoved Kind = "factor_removed"
	// KindRecoveryCodesRegenerated tells a user their recovery codes were
	// replaced, KindRecoveryCodeUsed that one was used to log in.
	KindRecoveryCodesRegenerated Kind = "recovery_codes_regenerated"
	KindRecoveryCodeUsed         Kind = "recovery_code_used"
	// KindEmailLogin carries a sign-in link and a short code for a
	// passwordless login; whichever is used first spends both.
	KindEmailLogin Kind = "email_login"
)

// Message is one email. Text is required; HTML is optional and, when set,
// the message is sent as multipart/alternative.
type Message struct {
	Kind Kind
	// From may be left empty for the Mailer's default sender.
	From    Address
	To      []Address
	Subject string
	Text    string
	HTML    string
}

// Data is what a [Renderer] turns into a [Message]. The Token and Code fields
// are secrets: renderers put them in the body and nowhere else.
type Data struct {
	Kind Kind
	// To is the recipient: always an address taken from the store.
	To Address
	// AppName is the application's name, for subjects and greetings.
	AppName string
	// Locale selects the language ("en", "de-CH"); empty means the
	// renderer's default.
	Locale string
	// Token is a single-use token the user may copy; Code a short numeric
	// code; Link a URL that carries the token. Any may be empty.
	Token string
	Code  string
	Link  string
	// ExpiresIn is how long Token, Link and Code stay valid (for Code, see
	// CodeExpiresIn when it differs).
	ExpiresIn     time.Duration
	CodeExpiresIn time.Duration
	// NewEmail is the address being changed to (email-change messages).
	NewEmail string
	// Time is when the event the message reports happened.
	Time time.Time
	// BySuperuser reports that a superuser, not the user, did what the
	// message reports (account deletion). Messages never name the
	// superuser.
	BySuperuser bool
}

// Renderer builds the message for d. Implementations must be safe for
// concurrent use.
type Renderer interface {
	Render(ctx context.Context, d Data) (Message, error)
}
