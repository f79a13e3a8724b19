package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Strict input (SECURITY.md #68). Bodies are read whole under a cap, then
// parsed here: JSON objects member by member so that unknown or duplicate
// fields, values of the wrong type (an array where a string belongs),
// invalid UTF-8 (which encoding/json would silently replace) and anything
// after the value are refused with a message naming the field.

// kind is the expected type of a JSON member.
type kind int

const (
	kindString kind = iota
	kindEmail       // a string; any problem is an invalid_email
	kindBool
	kindUUID   // a string holding a UUID, stored in canonical form
	kindIgnore // accepted with any value and dropped
	kindRaw    // any JSON value, kept as it is for the caller to check
)

// optString is a decoded string member; set is false when the member was
// absent or null.
type optString struct {
	v   string
	set bool
}

// optBool is a decoded boolean member.
type optBool struct {
	v   bool
	set bool
}

// field describes one accepted member of a JSON object body. dst is an
// *optString (string, email and UUID kinds), an *optBool, a
// *json.RawMessage for kindRaw, or nil for kindIgnore.
type field struct {
	name string
	kind kind
	dst  any
}

// maxNameInMessage bounds how much of an unknown field's name an error
// message repeats.
const maxNameInMessage = 64

// readBody reads the whole request body, refusing more than max bytes
// with 413, also when no Content-Length was sent.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errBodyTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		return nil, invalidRequest("The request body could not be read")
	}
	return b, nil
}

// firstByte returns the first byte of b that is not JSON white space, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// decodeObject parses body as one JSON object whose members are described
// by fields, filling their destinations. Members that are absent or null
// leave their destination unset.
func decodeObject(body []byte, fields []field) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalidRequest("The request body must be a JSON object")
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntaxError(err)
		}
		f, ok := lookup(fields, name)
		if !ok {
			return invalidRequest("Unknown field %s", quoteName(name))
		}
		if seen[name] {
			return invalidRequest("Duplicate field %s", quoteName(name))
		}
		seen[name] = true
		if err := f.decode(raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return syntaxError(err)
	}
	return checkEOF(dec)
}

func lookup(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// decode checks raw against the field's kind and stores it.
func (f field) decode(raw json.RawMessage) error {
	if f.kind == kindIgnore || string(raw) == "null" {
		return nil
	}
	switch f.kind {
	case kindRaw:
		*f.dst.(*json.RawMessage) = raw
		return nil
	case kindBool:
		dst := f.dst.(*optBool)
		switch string(raw) {
		case "true":
			*dst = optBool{v: true, set: true}
		case "false":
			*dst = optBool{v: false, set: true}
		default:
			return invalidRequest("Field %q must be true or false", f.name)
		}
		return nil
	}
	s, err := jsonString(raw)
	if err != nil {
		if f.kind == kindEmail {
			return invalidEmail("Field " + strconv.Quote(f.name) + " must be an email address")
		}
		if errors.Is(err, errNotString) {
			return invalidRequest("Field %q must be a string", f.name)
		}
		return invalidRequest("Field %q must be valid UTF-8", f.name)
	}
	if f.kind == kindUUID {
		id, err := parseUUID(s)
		if err != nil {
			return invalidRequest("Field %q must be a UUID", f.name)
		}
		s = id
	}
	*f.dst.(*optString) = optString{v: s, set: true}
	return nil
}

var (
	errNotString = errors.New("not a JSON string")
	errBadText   = errors.New("invalid UTF-8")
)

// jsonString decodes one JSON string token, refusing raw bytes that are
// not UTF-8 and escaped lone surrogates, both of which encoding/json would
// turn into U+FFFD without a word.
func jsonString(raw []byte) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errNotString
	}
	if !utf8.Valid(raw) || badSurrogates(raw) {
		return "", errBadText
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errNotString
	}
	return s, nil
}

// badSurrogates reports whether the JSON string literal raw escapes a
// UTF-16 surrogate that is not part of a valid pair. raw must be
// syntactically valid JSON.
func badSurrogates(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // a two-byte escape such as \" or \\
			continue
		}
		if i+6 > len(raw) {
			return true
		}
		r := hex4(raw[i+2 : i+6])
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 > len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			if lo := hex4(raw[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 decodes four hex digits; anything else gives -1.
func hex4(b []byte) int {
	v, err := strconv.ParseUint(string(b), 16, 16)
	if err != nil {
		return -1
	}
	return int(v)
}

// decodeBareString parses body as a single JSON string (the form FastAPI
// clients send for a lone body parameter).
func decodeBareString(body []byte, k kind, name string) (string, error) {
	raw := bytes.TrimSpace(body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	var msg json.RawMessage
	if err := dec.Decode(&msg); err != nil {
		return "", syntaxError(err)
	}
	if err := checkEOF(dec); err != nil {
		return "", err
	}
	var dst optString
	if err := (field{name: name, kind: k, dst: &dst}).decode(msg); err != nil {
		return "", err
	}
	return dst.v, nil
}

// checkEOF refuses anything after the top-level value.
func checkEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return invalidRequest("Unexpected data after the JSON value")
	}
	return nil
}

// syntaxError words a JSON parse failure without repeating the input.
func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidRequest("The request body is empty or truncated JSON")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalidRequest("Malformed JSON at byte %d", se.Offset)
	}
	return invalidRequest("Malformed JSON")
}

// quoteName quotes a client-supplied field name for a message, shortened
// and with anything unprintable escaped.
func quoteName(name string) string {
	if len(name) > maxNameInMessage {
		name = strings.ToValidUTF8(name[:maxNameInMessage], "") + "…"
	}
	return strconv.QuoteToASCII(name)
}

// parseUUID accepts a UUID in any of the forms [uuid.Parse] knows and
// returns its canonical lower-case form, the one the Manager issues.
func parseUUID(s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// mediaType returns the request's media type, lower-cased, or "" when
// there is none or it does not parse.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

func isJSONType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// formValues parses an application/x-www-form-urlencoded body, allowing
// each accepted key once: allowed maps a key to its kind, and kinds other
// than kindIgnore must point to an *optString in dst.
func formValues(body []byte, allowed []field) error {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return invalidRequest("Malformed form body")
	}
	for key, vs := range vals {
		f, ok := lookup(allowed, key)
		if !ok {
			return invalidRequest("Unknown field %s", quoteName(key))
		}
		if len(vs) != 1 {
			if f.kind == kindEmail {
				return invalidEmail("Field " + strconv.Quote(key) + " must be given once")
			}
			return invalidRequest("Field %q must be given once", key)
		}
		if f.kind == kindIgnore {
			continue
		}
		if !utf8.ValidString(vs[0]) {
			if f.kind == kindEmail {
				return invalidEmail("Field " + strconv.Quote(key) + " must be valid UTF-8")
			}
			return invalidRequest("Field %q must be valid UTF-8", key)
		}
		*f.dst.(*optString) = optString{v: vs[0], set: true}
	}
	return nil
}
