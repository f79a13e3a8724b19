package password

import (
	_ "embed" // for the built-in blocklist
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// How the blocklist works
//
// A password is compared whole, never by substring, against a set of base
// words (the built-in list, the policy's extra words, or the context words).
// Before comparing, it is NFKC-normalized and lower-cased by the caller, and
// then reduced:
//
//   - affixes: any number of leading and trailing ASCII digits, punctuation,
//     symbols and spaces may be ignored ("1password!", "Dragon2024");
//   - substitutions: each remaining candidate is also tried with common
//     "leet" characters undone ("p@ssw0rd", "dr4g0n", "l3tm31n");
//   - spaces: a password with spaces is also tried with them removed
//     ("i love you");
//   - repetition: a password that is one unit repeated is also tried as that
//     unit ("dragondragon", "Monkey1Monkey1").
//
// Independent of any list, isTrivial refuses patterns: a repeated short
// unit, a run of consecutive characters, a short core inside predictable
// affixes, and strings made only of digits and punctuation that split into
// predictable pieces (runs, repeats, years, dates, counting sequences,
// listed digit and symbol walks).

//go:embed common-passwords.txt
var commonPasswordsText string

// builtinBlocklist parses the embedded list once, on first use.
var builtinBlocklist = sync.OnceValue(func() *wordList {
	w := newWordList(1024)
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w.add(line)
	}
	return w
})

// wordList is a set of normalized words with their substitution-undone
// forms.
type wordList struct {
	words  map[string]struct{}
	maxLen int // longest entry, in code points
	// symbolic holds the entries made only of affix characters (digit and
	// symbol walks such as "147258369"), for weakSymbols.
	symbolic [][]rune
}

func newWordList(n int) *wordList {
	return &wordList{words: make(map[string]struct{}, 2*n)}
}

// add normalizes w (trim, NFKC, lower case) and adds it. Empty words are
// ignored.
func (w *wordList) add(word string) {
	r := []rune(strings.ToLower(norm.NFKC.String(strings.TrimSpace(word))))
	if len(r) == 0 {
		return
	}
	w.words[string(r)] = struct{}{}
	if hasLeet(r) {
		w.words[unleet(r, 'i')] = struct{}{}
		w.words[unleet(r, 'l')] = struct{}{}
	}
	w.maxLen = max(w.maxLen, len(r))
	if allAffix(r) {
		w.symbolic = append(w.symbolic, r)
	}
}

// contains reports whether s, as it is or with substitutions undone, is in
// the list. buf is scratch space, so that lookups do not allocate.
func (w *wordList) contains(s []rune, buf *[]byte) bool {
	leet := false
	b := (*buf)[:0]
	for _, r := range s {
		b = utf8.AppendRune(b, r)
		if _, ok := unleetRune(r, 'i'); ok {
			leet = true
		}
	}
	*buf = b
	if _, ok := w.words[string(b)]; ok {
		return true
	}
	if !leet {
		return false
	}
	for _, one := range []rune{'i', 'l'} {
		b = b[:0]
		for _, r := range s {
			r, _ = unleetRune(r, one)
			b = utf8.AppendRune(b, r)
		}
		*buf = b
		if _, ok := w.words[string(b)]; ok {
			return true
		}
	}
	return false
}

// refuses reports whether the normalized, lower-cased password p reduces to
// a word of the list.
func (w *wordList) refuses(p []rune) bool {
	if len(w.words) == 0 || len(p) == 0 {
		return false
	}
	if w.matchReduced(p, 0) {
		return true
	}
	if q := withoutSpaces(p); len(q) > 0 && len(q) < len(p) {
		return w.matchReduced(q, 0)
	}
	return false
}

// matchReduced tries every way of dropping leading and trailing affix
// characters from p, then p's repeated unit. depth bounds the recursion
// (each level at least halves the length anyway).
func (w *wordList) matchReduced(p []rune, depth int) bool {
	n := len(p)
	lead, trail := affixLengths(p)
	buf := make([]byte, 0, 4*min(n, w.maxLen))
	for k1 := 0; k1 <= lead; k1++ {
		// The core p[k1:n-k2] must be non-empty and no longer than the
		// longest entry.
		for k2 := max(0, n-k1-w.maxLen); k2 <= trail && k1+k2 < n; k2++ {
			if w.contains(p[k1:n-k2], &buf) {
				return true
			}
		}
	}
	if depth >= 4 {
		return false
	}
	if unit, ok := repeatedUnit(p); ok && w.matchReduced(unit, depth+1) {
		return true
	}
	if core := p[lead:max(lead, n-trail)]; len(core) < n {
		if unit, ok := repeatedUnit(core); ok && w.matchReduced(unit, depth+1) {
			return true
		}
	}
	return false
}

// contextWords builds the list of context words: each given word (ignoring
// those under 4 code points), its core without affixes, and for an email
// address its local part and the pieces of the local part.
func contextWords(words []string) *wordList {
	w := newWordList(4 * len(words))
	addWord := func(s string) {
		r := []rune(strings.ToLower(norm.NFKC.String(strings.TrimSpace(s))))
		if len(r) < 4 {
			return
		}
		w.add(string(r))
		lead, trail := affixLengths(r)
		if core := r[lead:max(lead, len(r)-trail)]; len(core) >= 4 && len(core) < len(r) {
			w.add(string(core))
		}
	}
	for _, s := range words {
		addWord(s)
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			local := s[:at]
			addWord(local)
			for piece := range strings.FieldsFuncSeq(local, func(r rune) bool {
				return r == '.' || r == '+' || r == '-' || r == '_'
			}) {
				addWord(piece)
			}
		}
	}
	return w
}

// isTrivial reports whether the normalized, lower-cased password p is a
// pattern rather than a choice: see the comment at the top of this file.
func isTrivial(p []rune) bool {
	if isTrivialAt(p, 0) {
		return true
	}
	if q := withoutSpaces(p); len(q) > 0 && len(q) < len(p) {
		return isTrivialAt(q, 0)
	}
	return false
}

func isTrivialAt(p []rune, depth int) bool {
	if len(p) == 0 {
		return true
	}
	if allAffix(p) {
		return weakSymbols(p, builtinBlocklist().symbolic)
	}
	lead, trail := affixLengths(p)
	core := p[lead : len(p)-trail]
	for _, s := range [][]rune{p, core} {
		if isRun(s) {
			return true
		}
		if unit, ok := repeatedUnit(s); ok {
			if len(unit) <= 4 || (depth < 4 && isTrivialAt(unit, depth+1)) {
				return true
			}
		}
	}
	// A core of one to three characters adds little to predictable affixes:
	// "bob12345", "x2024!!!".
	if len(core) <= 3 &&
		weakSymbols(p[:lead], builtinBlocklist().symbolic) &&
		weakSymbols(p[len(p)-trail:], builtinBlocklist().symbolic) {
		return true
	}
	return false
}

// isAffix reports whether r is a character people add around a word: an
// ASCII digit, punctuation, symbol or space.
func isAffix(r rune) bool {
	return r < utf8.RuneSelf && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z')
}

func allAffix(s []rune) bool {
	for _, r := range s {
		if !isAffix(r) {
			return false
		}
	}
	return true
}

// affixLengths returns how many leading and trailing runes of p are affix
// characters. For a p made only of affix characters both are len(p).
func affixLengths(p []rune) (lead, trail int) {
	for lead < len(p) && isAffix(p[lead]) {
		lead++
	}
	for trail < len(p) && isAffix(p[len(p)-1-trail]) {
		trail++
	}
	return lead, trail
}

func withoutSpaces(p []rune) []rune {
	q := make([]rune, 0, len(p))
	for _, r := range p {
		if !unicode.IsSpace(r) {
			q = append(q, r)
		}
	}
	return q
}

// unleetRune maps a common substitute back to the letter it stands for;
// '1' stands for one, which is 'i' or 'l'.
func unleetRune(r, one rune) (rune, bool) {
	switch r {
	case '@', '4':
		return 'a', true
	case '8':
		return 'b', true
	case '3':
		return 'e', true
	case '!':
		return 'i', true
	case '1':
		return one, true
	case '|':
		return 'l', true
	case '0':
		return 'o', true
	case '$', '5':
		return 's', true
	case '7', '+':
		return 't', true
	}
	return r, false
}

func hasLeet(s []rune) bool {
	for _, r := range s {
		if _, ok := unleetRune(r, 'i'); ok {
			return true
		}
	}
	return false
}

// unleet returns s with substitutes replaced by letters, '1' by one.
func unleet(s []rune, one rune) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r, _ = unleetRune(r, one)
		b.WriteRune(r)
	}
	return b.String()
}

// repeatedUnit returns the shortest u such that s is u repeated at least
// twice.
func repeatedUnit(s []rune) ([]rune, bool) {
	n := len(s)
	for u := 1; u <= n/2; u++ {
		if n%u != 0 {
			continue
		}
		ok := true
		for i := u; i < n && ok; i++ {
			ok = s[i] == s[i-u]
		}
		if ok {
			return s[:u], true
		}
	}
	return nil, false
}

// step returns the difference between consecutive characters a and b, with
// digits wrapping around ("890", "109").
func step(a, b rune) rune {
	switch {
	case a == '9' && b == '0':
		return 1
	case a == '0' && b == '9':
		return -1
	}
	return b - a
}

// isRun reports whether s has at least three characters, each one more (or
// each one less) than the one before: "abcdefgh", "98765432", "7890123".
func isRun(s []rune) bool {
	if len(s) < 3 {
		return false
	}
	d := step(s[0], s[1])
	if d != 1 && d != -1 {
		return false
	}
	for i := 2; i < len(s); i++ {
		if step(s[i-1], s[i]) != d {
			return false
		}
	}
	return true
}

// weakSymbols reports whether s, made only of affix characters, splits into
// predictable pieces: single punctuation or spaces, repeated characters,
// runs, years, dates, counting sequences, a short unit repeated, or one of
// the listed symbolic entries. An empty s is weak. Date separators are also
// tried removed, for "19.03.1985".
func weakSymbols(s []rune, listed [][]rune) bool {
	if splitsWeakly(s, listed) {
		return true
	}
	digits := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9':
			digits = append(digits, r)
		case r == '.' || r == '/' || r == '-' || r == ' ':
		default:
			return false
		}
	}
	return len(digits) < len(s) && splitsWeakly(digits, listed)
}

func splitsWeakly(s []rune, listed [][]rune) bool {
	n := len(s)
	reach := make([]bool, n+1)
	reach[0] = true
	for i := 0; i < n; i++ {
		if !reach[i] {
			continue
		}
		markWeakPieces(s, i, listed, reach)
		if reach[n] {
			return true
		}
	}
	return reach[n]
}

// markWeakPieces sets reach[j] for the end j of every predictable piece
// s[i:j].
func markWeakPieces(s []rune, i int, listed [][]rune, reach []bool) {
	n := len(s)
	isDigit := func(r rune) bool { return '0' <= r && r <= '9' }
	if !isDigit(s[i]) {
		reach[i+1] = true
	}
	// Repeated character, and runs of consecutive characters.
	j := i + 1
	for j < n && s[j] == s[i] {
		j++
	}
	for e := i + 2; e <= j; e++ {
		reach[e] = true
	}
	if i+1 < n {
		if d := step(s[i], s[i+1]); d == 1 || d == -1 {
			j := i + 2
			for j < n && step(s[j-1], s[j]) == d {
				j++
			}
			for e := i + 3; e <= j; e++ {
				reach[e] = true
			}
		}
	}
	// A unit of two to four characters repeated: "1212", "123123".
	for u := 2; u <= 4 && i+2*u <= n; u++ {
		j := i + u
		for j < n && s[j] == s[j-u] {
			j++
		}
		for e := i + 2*u; e <= j; e += u {
			reach[e] = true
		}
	}
	// Years and dates.
	digitsAt := func(k int) bool {
		if i+k > n {
			return false
		}
		for _, r := range s[i : i+k] {
			if !isDigit(r) {
				return false
			}
		}
		return true
	}
	if digitsAt(4) && isYear(s[i:i+4]) {
		reach[i+4] = true
	}
	if digitsAt(6) && isDate(s[i:i+6]) {
		reach[i+6] = true
	}
	if digitsAt(8) && isDate(s[i:i+8]) {
		reach[i+8] = true
	}
	// Counting sequences of at least three numbers: "8910", "12345678910".
	for k := 1; k <= 4 && i+k <= n; k++ {
		if s[i] == '0' || !digitsAt(k) {
			break
		}
		v, _ := strconv.Atoi(string(s[i : i+k]))
		pos, count := i+k, 1
		for {
			next := []rune(strconv.Itoa(v + count))
			if pos+len(next) > n || string(s[pos:pos+len(next)]) != string(next) {
				break
			}
			pos += len(next)
			count++
			if count >= 3 {
				reach[pos] = true
			}
		}
	}
	// Listed digit and symbol walks.
	for _, w := range listed {
		if i+len(w) <= n && string(s[i:i+len(w)]) == string(w) {
			reach[i+len(w)] = true
		}
	}
}

func num(s []rune) int {
	v := 0
	for _, r := range s {
		v = 10*v + int(r-'0')
	}
	return v
}

func isYear(s []rune) bool {
	y := num(s)
	return 1900 <= y && y <= 2099
}

// isDate reports whether the 6 or 8 digits s read as a day-month-year,
// month-day-year or year-month-day date.
func isDate(s []rune) bool {
	dm := func(d, m int) bool { return 1 <= d && d <= 31 && 1 <= m && m <= 12 }
	if len(s) == 8 {
		a, b := num(s[0:2]), num(s[2:4])
		if isYear(s[4:8]) && (dm(a, b) || dm(b, a)) {
			return true
		}
		return isYear(s[0:4]) && dm(num(s[6:8]), num(s[4:6]))
	}
	a, b, c := num(s[0:2]), num(s[2:4]), num(s[4:6])
	return dm(a, b) || dm(b, a) || dm(c, b)
}
