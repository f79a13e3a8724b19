package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-go/gatehouse/mail"
)

const msgVerificationSent = "If the email exists and is unverified, a verification email has been sent"

// TestSendVerificationEmail: SECURITY.md #15. POST /send_verification_email
// answers an unknown, a verified and an unverified address alike, byte for
// byte, in both body forms; only the unverified account gets mail, and its
// new code works.
func TestSendVerificationEmail(t *testing.T) {
	e := newEnv(t, options{verify: true})
	const (
		fresh   = "fresh@example.com"
		done    = "done@example.com"
		unknown = "nobody@example.com"
	)
	e.register(t, fresh, alicePW)
	e.verified(t, done, bobPW)
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute) // past the per-account mail limit of the registrations
	before := len(e.mail.Messages())

	var answers []string
	for _, email := range []string{fresh, done, unknown} {
		for _, body := range []string{quote(email), `{"email":` + quote(strings.ToUpper(email)) + `}`} {
			r := rawResponse(t, e, jsonReq("POST", "/send_verification_email", body, ""))
			if !strings.Contains(r, "200 OK") || !strings.Contains(r, `{"results":{"message":"`+msgVerificationSent+`"}}`) {
				t.Fatalf("%s: unexpected answer\n%s", body, r)
			}
			answers = append(answers, r)
		}
		if err := e.m.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Fatalf("answers differ:\n%s\n---\n%s", answers[0], a)
		}
	}

	// One mail to the unverified account: its second request came within
	// the minute (the per-account mail limit) and answered the same.
	// Nothing for the others.
	if got := len(e.mail.Messages()) - before; got != 1 {
		t.Fatalf("%d messages sent, want 1 (to %s)", got, fresh)
	}
	if n := countMail(e, done, mail.KindVerifyEmail); n != 1 {
		t.Fatalf("%d verification mails to the verified account, want its registration's only", n)
	}
	if n := countMail(e, unknown, mail.KindVerifyEmail); n != 0 {
		t.Fatalf("%d verification mails to an unknown address", n)
	}
	// The latest code verifies; the registration's is dead.
	first := mailCode(t, e.mailTo(t, fresh, mail.KindVerifyEmail, 1))
	latest := mailCode(t, e.mailTo(t, fresh, mail.KindVerifyEmail, 2))
	if first != latest {
		wantError(t, e.do(t, jsonReq("POST", "/verify_email", `{"email":`+quote(fresh)+`,"verification_code":`+quote(first)+`}`, "")), http.StatusBadRequest, "invalid_code")
	}
	wantMessage(t, e.do(t, jsonReq("POST", "/verify_email", `{"email":`+quote(fresh)+`,"verification_code":`+quote(latest)+`}`, "")), "Email verified successfully")
	e.login(t, fresh, alicePW)
}

// TestSendVerificationEmailInput: a malformed address is 422 invalid_email
// in either form, and a body without one 422 invalid_request, whether or
// not verification is on.
func TestSendVerificationEmailInput(t *testing.T) {
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprintf("verification %v", verify), func(t *testing.T) {
			e := newEnv(t, options{verify: verify})
			for _, body := range []string{`"not an address"`, `{"email":"not an address"}`, `{"email":42}`, `"a@b\u0000.example"`} {
				wantError(t, e.do(t, jsonReq("POST", "/send_verification_email", body, "")), http.StatusUnprocessableEntity, "invalid_email")
			}
			for _, body := range []string{``, `{}`, `""`, `{"email":"a@example.com","extra":1}`, `[]`} {
				wantError(t, e.do(t, jsonReq("POST", "/send_verification_email", body, "")), http.StatusUnprocessableEntity, "invalid_request")
			}
		})
	}
}

// TestSendVerificationEmailWithoutVerification: with verification off the
// answer is the same 200 (it depends on no account, and the setting is not
// the client's business here), and nothing is mailed: no account needs
// verifying to log in.
func TestSendVerificationEmailWithoutVerification(t *testing.T) {
	e := newEnv(t, options{})
	e.register(t, "alice@example.com", alicePW)
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		wantMessage(t, e.do(t, jsonReq("POST", "/send_verification_email", quote(email), "")), msgVerificationSent)
	}
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mail.Messages()); n != 0 {
		t.Fatalf("%d messages sent, want none", n)
	}
}

// TestSendVerificationEmailThrottled: SECURITY.md #21, #22. Requests from
// one IP count against its verification limit (30 an hour, shared with
// wrong codes): the 31st is 429 with Retry-After, for any address. Mail
// per account is limited too: a second request within the minute answers
// the same and sends nothing.
func TestSendVerificationEmailThrottled(t *testing.T) {
	e := newEnv(t, options{verify: true})
	e.register(t, "alice@example.com", alicePW)
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		wantMessage(t, e.do(t, jsonReq("POST", "/send_verification_email", quote("alice@example.com"), "")), msgVerificationSent)
	}
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		if secs := wantThrottled(t, e.do(t, jsonReq("POST", "/send_verification_email", quote(email), ""))); secs > 3600 {
			t.Fatalf("Retry-After %d beyond the hour", secs)
		}
	}
	if err := e.m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The registration's mail and none of the 30 requests': all came
	// within a minute of it.
	if n := countMail(e, "alice@example.com", mail.KindVerifyEmail); n != 1 {
		t.Fatalf("%d verification mails, want 1", n)
	}
	e.clock.Advance(time.Hour)
	wantMessage(t, e.do(t, jsonReq("POST", "/send_verification_email", quote("alice@example.com"), "")), msgVerificationSent)
	e.mailTo(t, "alice@example.com", mail.KindVerifyEmail, 2)
}
