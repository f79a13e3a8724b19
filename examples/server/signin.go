package main

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The login page, /login: a small client of the /v2 API in one page,
// to try the server's logins in a browser. It signs in with a password
// and, when /v2/login answers 401 mfa_required, asks for the second
// factor: a code (TOTP or a recovery code) for /v2/login/mfa, or a
// passkey. It also signs in with a passkey alone, and a signed-in user
// registers a passkey. Passkeys go through navigator.credentials, with the
// API's base64url fields turned into ArrayBuffers and back by the inline
// script.
//
// The access token lives only in the script's memory: a reload signs out.
// The page loads nothing else. Its Content Security Policy allows exactly
// its inline style and script, by hash, and requests to this origin.

// signInScript is the page's inline script; the Content Security Policy
// allows exactly it, by hash.
const signInScript = `"use strict";
const $ = (id) => document.getElementById(id);
let access = "", challenge = "";
const b64u = {
  enc(buf) {
    let s = "";
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  dec(str) {
    str = str.replace(/-/g, "+").replace(/_/g, "/");
    while (str.length % 4) str += "=";
    const s = atob(str), a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a.buffer;
  },
};
async function api(path, body, opts = {}) {
  const h = {};
  let b;
  if (opts.form) {
    h["Content-Type"] = "application/x-www-form-urlencoded";
    b = new URLSearchParams(opts.form).toString();
  } else {
    h["Content-Type"] = "application/json";
    b = JSON.stringify(body || {});
  }
  if (opts.bearer) h["Authorization"] = "Bearer " + access;
  const r = await fetch("v2/" + path, {method: "POST", headers: h, body: b, credentials: "omit", cache: "no-store"});
  let j = {};
  try { j = await r.json(); } catch (e) { j = {}; }
  return {status: r.status, body: j};
}
function show(step) {
  for (const s of ["password-step", "code-step", "signed-in"]) $(s).hidden = s !== step;
}
function say(msg, bad) {
  const el = $("status");
  el.textContent = msg;
  el.className = bad ? "error" : "";
}
function failed(res) {
  say(res.body.message || ("The server answered " + res.status + "."), true);
}
function signedIn(res, how) {
  access = res.body.results.access_token.token;
  challenge = "";
  $("password").value = "";
  $("code").value = "";
  show("signed-in");
  say("You are signed in (" + how + ").");
}
function decodeCreation(o) {
  const p = o.publicKey;
  p.challenge = b64u.dec(p.challenge);
  p.user.id = b64u.dec(p.user.id);
  for (const c of p.excludeCredentials || []) c.id = b64u.dec(c.id);
  return {publicKey: p};
}
function decodeRequest(o) {
  const p = o.publicKey;
  p.challenge = b64u.dec(p.challenge);
  for (const c of p.allowCredentials || []) c.id = b64u.dec(c.id);
  return {publicKey: p};
}
function encodeCredential(c) {
  const r = c.response;
  const out = {id: c.id, rawId: b64u.enc(c.rawId), type: c.type,
    clientExtensionResults: c.getClientExtensionResults(),
    response: {clientDataJSON: b64u.enc(r.clientDataJSON)}};
  if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
  if (r.attestationObject) {
    out.response.attestationObject = b64u.enc(r.attestationObject);
    if (r.getTransports) out.response.transports = r.getTransports();
  }
  if (r.authenticatorData) {
    out.response.authenticatorData = b64u.enc(r.authenticatorData);
    out.response.signature = b64u.enc(r.signature);
    if (r.userHandle) out.response.userHandle = b64u.enc(r.userHandle);
  }
  return out;
}
async function passkey(options) {
  try {
    return encodeCredential(await navigator.credentials.get(decodeRequest(options)));
  } catch (e) {
    say("The passkey was not used: " + e.name + ".", true);
    return null;
  }
}
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  say("Signing in…");
  const res = await api("login", null, {form: {grant_type: "password", username: $("email").value, password: $("password").value}});
  if (res.status === 200) return signedIn(res, "password");
  if (res.status === 401 && res.body.error_type === "mfa_required") {
    challenge = res.body.challenge_token;
    $("use-passkey").hidden = !(res.body.methods || []).includes("passkey");
    show("code-step");
    $("code").focus();
    return say("Enter the code from your authenticator app, or a recovery code.");
  }
  failed(res);
});
$("code-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const code = $("code").value.trim();
  const method = /^[0-9]{6}$/.test(code) ? "totp" : "recovery_code";
  const res = await api("login/mfa", {challenge_token: challenge, method: method, code: code});
  if (res.status === 200) return signedIn(res, method === "totp" ? "password and code" : "password and recovery code");
  if (res.body.error_type === "invalid_challenge") show("password-step");
  failed(res);
});
$("use-passkey").addEventListener("click", async () => {
  const opt = await api("login/mfa/passkey/options", {challenge_token: challenge});
  if (opt.status !== 200) return failed(opt);
  const cred = await passkey(opt.body.results.options);
  if (!cred) return;
  const res = await api("login/mfa", {challenge_token: challenge, method: "passkey", credential: cred});
  if (res.status === 200) return signedIn(res, "password and passkey");
  failed(res);
});
$("passkey-sign-in").addEventListener("click", async () => {
  const begin = await api("login/passkey/begin", {});
  if (begin.status !== 200) return failed(begin);
  const cred = await passkey(begin.body.results.options);
  if (!cred) return;
  const res = await api("login/passkey/finish", {login_id: begin.body.results.login_id, credential: cred});
  if (res.status === 200) return signedIn(res, "passkey");
  failed(res);
});
$("register-passkey").addEventListener("click", async () => {
  const body = {};
  if ($("passkey-name").value) body.name = $("passkey-name").value;
  if ($("current_password").value) body.current_password = $("current_password").value;
  const begin = await api("mfa/passkeys/register/begin", body, {bearer: true});
  if (begin.status !== 200) return failed(begin);
  let cred;
  try {
    cred = encodeCredential(await navigator.credentials.create(decodeCreation(begin.body.results.options)));
  } catch (e) {
    return say("No passkey was made: " + e.name + ".", true);
  }
  const res = await api("mfa/passkeys/register/finish", {registration_id: begin.body.results.registration_id, credential: cred}, {bearer: true});
  if (res.status !== 200) return failed(res);
  $("current_password").value = "";
  const codes = res.body.results.recovery_codes;
  $("recovery-codes").textContent = codes ? "Your recovery codes, shown once: " + codes.join(" ") : "";
  say("Your passkey is registered.");
});
$("logout").addEventListener("click", async () => {
  await api("logout", {}, {bearer: true});
  access = "";
  $("recovery-codes").textContent = "";
  show("password-step");
  say("You are signed out.");
});
`

// signInHTML is the page. It takes no data: everything it shows comes
// from the API at run time, through textContent, never as HTML.
const signInHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>Sign in</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p id="status" role="status" aria-live="polite"></p>
<section id="password-step">
<form id="login-form">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="username webauthn">
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit" id="sign-in">Sign in</button>
</form>
<button type="button" id="passkey-sign-in">Sign in with a passkey</button>
</section>
<section id="code-step" hidden>
<form id="code-form">
<label for="code">Code from your authenticator app, or a recovery code</label>
<input id="code" name="code" required autocomplete="one-time-code" spellcheck="false">
<button type="submit" id="code-submit">Continue</button>
</form>
<button type="button" id="use-passkey" hidden>Use a passkey</button>
</section>
<section id="signed-in" hidden>
<label for="passkey-name">Name of a new passkey (optional)</label>
<input id="passkey-name" name="passkey-name" maxlength="64" autocomplete="off">
<label for="current_password">Current password (needed when you signed in more than a few minutes ago)</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password">
<button type="button" id="register-passkey">Register a passkey</button>
<p id="recovery-codes"></p>
<button type="button" id="logout">Sign out</button>
</section>
</main>
<script>` + signInScript + `</script>
</body>
</html>
`

// signInCSP is the Content Security Policy of the sign-in page.
var signInCSP = func() string {
	style := sha256.Sum256([]byte(pageStyle))
	script := sha256.Sum256([]byte(signInScript))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(style[:]) + "'; " +
		"script-src 'sha256-" + base64.StdEncoding.EncodeToString(script[:]) + "'; connect-src 'self'; " +
		"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
}()

// serveSignIn answers GET /login.
func serveSignIn(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", signInCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	_, _ = w.Write([]byte(signInHTML))
}
