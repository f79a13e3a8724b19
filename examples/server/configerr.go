package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-go/gatehouse/auth"
)

// configSource says where one auth.Config field that managerConfig sets
// comes from. A test checks that every field managerConfig sets is listed.
type configSource struct {
	field string // its path, as in auth.ValidationError.Field
	// from is the flag ("-access-ttl") or environment variable whose value
	// the field holds, or, when set is false, the flags that choose it.
	from string
	set  bool
}

var configSources = []configSource{
	{"Config.Tokens.AccessTTL", "-access-ttl", true},
	{"Config.Sessions.TTL", "-refresh-ttl", true},
	{"Config.Sessions.IdleTimeout", "-idle-timeout", true},
	{"Config.Verification.Required", "-require-email-verification", true},
	{"Config.Passwordless.Enabled", "-passwordless", true},
	{"Config.Password.MaxConcurrentHashes", "-max-concurrent-hashes", true},
	{"Config.BaseURL", "-base-url", true},
	{"Config.Mail.From", "-smtp-from", true},
	{"Config.Tokens.SigningKey", envSigningKey, true},
	{"Config.Factors.Enabled", "always on", false},
	{"Config.Factors.Keys", envFactorKey, true},
	{"Config.Factors.Passkeys.RPID", "the host of -base-url", false},
	{"Config.Factors.Passkeys.Origins", "the origin of -base-url", false},
	{"Config.Tokens.Issuer", "-ed25519-key and -ed25519-verify-keys", false},
	{"Config.Store", "-db", false},
	{"Config.Audit", "-db and -audit-db", false},
	{"Config.Limits.Store", "-redis", false},
	{"Config.SessionCache.TTL", "-session-cache", true},
	{"Config.SessionCache.Invalidator", "-session-cache and its transport: -store -db and -redis", false},
	{"Config.Mailer", "-maildir and -smtp-addr", false},
	{"Config.Logger", "standard error", false},
}

// explain describes err for the command line: an invalid auth.Config field
// by the flag or variable that sets it, with its value when a flag was left
// at its default (a field the user never set is otherwise a puzzle), and
// a field that no flag sets by the flags that constrain it. Other errors
// are returned as they are.
func explain(err error, fs *flag.FlagSet) string {
	return explainWith(err, fs, configSources)
}

// explainWith is explain with the sources given.
func explainWith(err error, fs *flag.FlagSet, sources []configSource) string {
	var ve *auth.ValidationError
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "Config.") {
		return err.Error()
	}
	// The reason may name other fields ("must be at least
	// Tokens.AccessTTL"): name them by their flags too.
	var long, short []string
	for _, s := range sources {
		if s.set {
			long = append(long, s.field, s.from)
			short = append(short, strings.TrimPrefix(s.field, "Config."), s.from)
		}
	}
	reason := strings.NewReplacer(append(long, short...)...).Replace(ve.Reason)
	for _, s := range sources {
		if s.field != ve.Field || !s.set {
			continue
		}
		if f := fs.Lookup(strings.TrimPrefix(s.from, "-")); f != nil && strings.HasPrefix(s.from, "-") {
			return "invalid " + flagValue(fs, f) + ": " + reason
		}
		return s.from + ": " + reason
	}
	var constraining []string
	for _, s := range sources {
		if s.set && strings.HasPrefix(s.from, "-") && strings.Contains(reason, s.from) && !slices.Contains(constraining, s.from) {
			constraining = append(constraining, s.from)
		}
	}
	if len(constraining) == 0 {
		return fmt.Sprintf("auth.%s, which no flag sets or constrains (a bug in this server): %s", ve.Field, reason)
	}
	return fmt.Sprintf("auth.%s, which no flag sets, follows from %s: %s", ve.Field, strings.Join(constraining, " and "), reason)
}

// flagValue shows a flag and its value, saying when it is the default.
func flagValue(fs *flag.FlagSet, f *flag.Flag) string {
	v := f.Value.String()
	if g, ok := f.Value.(flag.Getter); ok {
		if s, ok := g.Get().(string); ok {
			v = strconv.Quote(s)
		}
	}
	set := false
	fs.Visit(func(g *flag.Flag) { set = set || g == f })
	if !set {
		return "-" + f.Name + " " + v + " (the default)"
	}
	return "-" + f.Name + " " + v
}
