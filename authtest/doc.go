// Package authtest is a test kit for applications that embed Gatehouse:
// in one call, a [auth.Manager] on memstore with a fast password hasher, a
// fake clock, captured mail and a [middleware.Guard], so that a handler
// test needs a user and a logged-in request, not forty lines of set-up.
//
//	func TestNote(t *testing.T) {
//		kit := authtest.New(t)
//		kit.User(t, "ada@example.com")
//		login := kit.LogIn(t, "ada@example.com")
//		w := httptest.NewRecorder()
//		kit.Guard.RequireAuth(noteHandler).ServeHTTP(w, login.Request("GET", "/note", nil))
//		if w.Code != 200 {
//			t.Fatalf("GET /note: %d %s", w.Code, w.Body)
//		}
//	}
//
// What the kit holds:
//
//   - Kit.Manager: a real Manager (every rule of package auth applies) over
//     Kit.Store, a [memstore.Store], whose passwords are hashed with a
//     quick stand-in for argon2id: tests stay fast, and the hashes are
//     worthless outside them.
//   - A fake clock, the Manager's Config.Now: it stands still until the
//     test calls [Kit.Advance], so expiries (access tokens, codes, reset
//     links, lockouts) are reached on purpose, never by a slow machine.
//   - Kit.Mail, a [mail.Capture] that receives every message the Manager
//     sends; [Kit.LastMail], [Kit.LastCode], [Kit.LastToken] and
//     [Kit.LastLink] read the last one sent to an address, after waiting
//     for the Manager's background mail.
//   - Kit.Guard, a Guard for the Manager: bearer tokens by default, cookie
//     mode with [GuardConfig] — then [Kit.LogIn] logs in through
//     Guard.LogIn and its requests carry the session cookie.
//   - User factories: [Kit.User] with [Superuser], [Unverified],
//     [Disabled], [WithPassword] and [Name].
//
// Everything is cleaned up through the test's Cleanup: the Manager's
// background work is flushed (and a failure to deliver reported) when the
// test ends.
//
// Options to [New] and [Kit.User] are small sealed types, in the manner of
// oauth2's AuthCodeOption: [Configure] edits the Manager's auth.Config
// before it is built, [GuardConfig] sets the Guard's, [Start] moves the
// clock's starting time.
//
// authtest is for tests only: never import it from production code. It
// imports the library's packages, not the other way round, so a package's
// own internal tests (package auth, package middleware) cannot use it;
// their external _test packages and applications can.
package authtest
