package doccheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// moduleRoot is the directory holding go.mod, found upwards from the
// test's working directory (this package's directory).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// A policy is what SECURITY.md offers to cite.
type policy struct {
	items    map[int]*item   // "#N" headings of the checklist
	sections map[string]bool // "§N", "§N item M", "§N decision M"
	anchors  map[string]bool // GitHub's anchors of every heading
}

// An item is one checklist heading, "#### #N PX: title", and its body.
type item struct {
	n, line      int
	priority     string
	notShipped   bool // under a group marked "(not in this version)"
	notInVersion bool // the body says "Not in this version:"
	proofs       []proof
}

// A proof is one bullet under "Proved by:": "- `dir`: `TestA`, `TestB/sub` — why".
type proof struct {
	line  int
	dir   string
	names []string
}

var (
	sectionHeading = regexp.MustCompile(`^§(\d+)\b`)
	subHeading     = regexp.MustCompile(`^(Item|Decision) (\d+)\b`)
	groupHeading   = regexp.MustCompile(`^[A-Z]\. `)
	itemHeading    = regexp.MustCompile(`^#(\d+) (P[0-2]):? `)
	proofBullet    = regexp.MustCompile("^- `([^`]+)`: (.*)$")
	backticked     = regexp.MustCompile("`([^`]+)`")
)

// parsePolicy reads SECURITY.md. Problems with its own structure are
// returned as "SECURITY.md:LINE: …".
func parsePolicy(text string) (*policy, []string) {
	p := &policy{items: map[int]*item{}, sections: map[string]bool{}, anchors: map[string]bool{}}
	var problems []string
	bad := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("SECURITY.md:%d: %s", line, fmt.Sprintf(format, args...)))
	}
	slugs := map[string]int{}
	var section string
	var notShipped, inProof, fenced bool
	var cur *item
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level > 0 && level <= 6 && strings.HasPrefix(line[level:], " ") {
			title := strings.TrimSpace(line[level:])
			slug := githubSlug(title)
			if k := slugs[slug]; k > 0 {
				p.anchors[slug+"-"+strconv.Itoa(k)] = true
			} else {
				p.anchors[slug] = true
			}
			slugs[slug]++
			cur, inProof = nil, false
			switch {
			case level == 2:
				section = ""
				if m := sectionHeading.FindStringSubmatch(title); m != nil {
					section = "§" + m[1]
					if p.sections[section] {
						bad(n, "%s twice", section)
					}
					p.sections[section] = true
				}
			case level == 3 && groupHeading.MatchString(title):
				notShipped = strings.Contains(title, "(not in this version)")
			case level == 3 && section != "":
				if m := subHeading.FindStringSubmatch(title); m != nil {
					key := section + " " + strings.ToLower(m[1]) + " " + m[2]
					if p.sections[key] {
						bad(n, "%s twice", key)
					}
					p.sections[key] = true
				}
			case level == 4:
				if m := itemHeading.FindStringSubmatch(title); m != nil {
					num, _ := strconv.Atoi(m[1])
					if p.items[num] != nil {
						bad(n, "item #%d twice (first on line %d)", num, p.items[num].line)
					}
					cur = &item{n: num, line: n, priority: m[2], notShipped: notShipped}
					p.items[num] = cur
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case line == "Proved by:":
			inProof = true
		case strings.HasPrefix(line, "Not in this version:"):
			cur.notInVersion = true
		case inProof && strings.HasPrefix(line, "  "):
			// the continuation of a wrapped bullet
		case inProof && strings.HasPrefix(line, "- "):
			m := proofBullet.FindStringSubmatch(line)
			if m == nil {
				bad(n, "a proof reads \"- `dir`: `TestName`, … — why\", not %q", line)
				continue
			}
			names, _, _ := strings.Cut(m[2], " — ")
			pr := proof{line: n, dir: m[1]}
			for _, b := range backticked.FindAllStringSubmatch(names, -1) {
				pr.names = append(pr.names, b[1])
			}
			if len(pr.names) == 0 {
				bad(n, "a proof names no test: %q", line)
			}
			cur.proofs = append(cur.proofs, pr)
		case inProof && line != "":
			inProof = false
		}
	}
	return p, problems
}

// githubSlug is the anchor GitHub gives a heading: lower case, letters,
// digits, spaces, hyphens and underscores kept, spaces made hyphens.
func githubSlug(title string) string {
	title = backticked.ReplaceAllString(title, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// A citation is one reference to the policy found in a file.
type citation struct {
	file string
	line int
	key  string // "#27", "§5 decision 7", "anchor:reporting-a-vulnerability", or "coverage"
}

var (
	// One cited place: #N, §N, §N item M or §N decision M.
	citeRef = regexp.MustCompile(`^(#(\d+)\b|§(\d+)(?:\s+(item|decision)\s+(\d+)\b)?)`)
	// What may stand between two cited places: ", ", " and ", ", and ".
	citeSep = regexp.MustCompile(`^(,\s*(and\s+)?|\s+and\s+)`)
	// A line break inside a comment, with the next line's comment marker.
	commentBreak = regexp.MustCompile(`\s*\n\s*(//)?\s*`)
	anchorLink   = regexp.MustCompile(`^#([A-Za-z0-9_%-]+)`)
	inPageLink   = regexp.MustCompile(`\]\(#([^)\s]+)\)`)
)

// citations finds every citation of SECURITY.md (and mention of the old
// SECURITY-COVERAGE.md) in text. "shared/SECURITY.md" is the team's
// checklist, not this repository's file, and is not a citation.
func citations(file, text string) []citation {
	var out []citation
	lineOf := func(i int) int { return strings.Count(text[:i], "\n") + 1 }
	for i := 0; ; {
		j := strings.Index(text[i:], "SECURITY-COVERAGE.md")
		if j < 0 {
			break
		}
		out = append(out, citation{file: file, line: lineOf(i + j), key: "coverage"})
		i += j + 1
	}
	const name = "SECURITY.md"
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			break
		}
		at := i + j
		i = at + len(name)
		if strings.HasSuffix(text[:at], "shared/") {
			continue
		}
		tail := text[i:min(len(text), i+300)]
		if m := anchorLink.FindStringSubmatch(tail); m != nil {
			out = append(out, citation{file: file, line: lineOf(at), key: "anchor:" + m[1]})
			continue
		}
		tail = commentBreak.ReplaceAllString(tail, " ")
		if !strings.HasPrefix(tail, " ") {
			continue
		}
		tail = tail[1:]
		for {
			m := citeRef.FindStringSubmatch(tail)
			if m == nil {
				break
			}
			key := "#" + m[2]
			if m[3] != "" {
				key = "§" + m[3]
				if m[4] != "" {
					key += " " + m[4] + " " + m[5]
				}
			}
			out = append(out, citation{file: file, line: lineOf(at), key: key})
			tail = tail[len(m[0]):]
			sep := citeSep.FindString(tail)
			if sep == "" {
				break
			}
			tail = tail[len(sep):]
		}
	}
	return out
}

// repoFiles returns the module's .go and .md files (slash paths relative to
// root), skipping hidden directories, testdata and this package.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			// This package's literals are the checker's own test data.
			if path == filepath.Join(root, "internal", "doccheck") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestSecurityCitationsResolve: every citation of the policy in the
// repository's Go and Markdown files — an item "#N" or a section "§N",
// "§N item M" or "§N decision M" after the file's name, or a link to one of
// its anchors — names a heading of the repository's SECURITY.md, and
// nothing cites the coverage table that SECURITY.md §1 replaced.
func TestSecurityCitationsResolve(t *testing.T) {
	root := moduleRoot(t)
	text, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Errorf("the module root has no SECURITY.md: %v", err)
	}
	p, problems := parsePolicy(string(text))
	for _, pr := range problems {
		t.Error(pr)
	}
	// The policy's links to its own headings.
	for i, line := range strings.Split(string(text), "\n") {
		for _, m := range inPageLink.FindAllStringSubmatch(line, -1) {
			if !p.anchors[m[1]] {
				t.Errorf("SECURITY.md:%d: links to #%s, an anchor no heading has", i+1, m[1])
			}
		}
	}
	_, err = os.Stat(filepath.Join(root, "SECURITY-COVERAGE.md"))
	coverageExists := err == nil

	cited := 0
	for _, f := range repoFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range citations(f, string(b)) {
			cited++
			var ok bool
			switch {
			case c.key == "coverage":
				ok = coverageExists
			case strings.HasPrefix(c.key, "anchor:"):
				ok = p.anchors[strings.TrimPrefix(c.key, "anchor:")]
			case strings.HasPrefix(c.key, "#"):
				n, _ := strconv.Atoi(c.key[1:])
				ok = p.items[n] != nil
			default:
				ok = p.sections[c.key]
			}
			if !ok {
				what := "SECURITY.md " + c.key
				switch {
				case c.key == "coverage":
					what = "SECURITY-COVERAGE.md, which does not exist (its table is SECURITY.md §1)"
				case strings.HasPrefix(c.key, "anchor:"):
					what = "SECURITY.md#" + strings.TrimPrefix(c.key, "anchor:") + ", an anchor no heading has"
				}
				t.Errorf("%s:%d: cites %s", c.file, c.line, what)
			}
		}
	}
	// The walk itself must have worked: the source cites the policy often.
	if cited < 50 {
		t.Errorf("found only %d citations of SECURITY.md; the scan is broken", cited)
	}
}

// TestSecurityChecklistProofs: the checklist numbers its items from #1 with
// no gap, each with a priority; every item Gatehouse ships says which tests
// prove it, P0 items always, and every test it names exists in the package
// directory it names: a func TestX (FuzzX, BenchmarkX, ExampleX) in a
// _test.go file there, and each subtest's name as a string in those files
// (store/storetest's subtests by the names of its groups and leaves).
func TestSecurityChecklistProofs(t *testing.T) {
	root := moduleRoot(t)
	text, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Fatalf("the module root has no SECURITY.md: %v", err)
	}
	p, _ := parsePolicy(string(text)) // structural problems: TestSecurityCitationsResolve
	if len(p.items) == 0 {
		t.Fatal("SECURITY.md has no checklist items (headings \"#### #N P0: …\")")
	}
	nums := slices.Sorted(func(yield func(int) bool) {
		for n := range p.items {
			if !yield(n) {
				return
			}
		}
	})
	for i, n := range nums {
		if n != i+1 {
			t.Errorf("SECURITY.md: checklist item #%d is missing (the items run to #%d)", i+1, nums[len(nums)-1])
			break
		}
	}

	sources := map[string]string{} // dir → its test files (all .go files for storetest)
	source := func(dir string) (string, bool) {
		if s, ok := sources[dir]; ok {
			return s, s != ""
		}
		var all strings.Builder
		entries, _ := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, "_test.go") && !(dir == "store/storetest" && strings.HasSuffix(name, ".go")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), name))
			if err != nil {
				t.Fatal(err)
			}
			all.Write(b)
			all.WriteByte('\n')
		}
		sources[dir] = all.String()
		return sources[dir], all.Len() > 0
	}
	testFunc := regexp.MustCompile(`^(Test|Fuzz|Benchmark|Example)[A-Z0-9_]\w*$`)

	for _, n := range nums {
		it := p.items[n]
		where := fmt.Sprintf("SECURITY.md:%d: #%d", it.line, n)
		switch {
		case it.notInVersion && len(it.proofs) > 0:
			t.Errorf("%s says both \"Not in this version\" and \"Proved by\"", where)
		case it.notInVersion && it.priority == "P0" && !it.notShipped:
			t.Errorf("%s is P0 and not in this version, outside a group marked (not in this version)", where)
		case !it.notInVersion && len(it.proofs) == 0:
			t.Errorf("%s (%s) names no proof: give \"Proved by:\" bullets or \"Not in this version: why\"", where, it.priority)
		}
		for _, pr := range it.proofs {
			src, ok := source(pr.dir)
			if !ok {
				t.Errorf("SECURITY.md:%d: #%d cites tests in %s, which has no test files", pr.line, n, pr.dir)
				continue
			}
			for _, name := range pr.names {
				segs := strings.Split(name, "/")
				subs := segs[1:]
				switch {
				case testFunc.MatchString(segs[0]):
					if !regexp.MustCompile(`(?m)^func ` + segs[0] + `\(`).MatchString(src) {
						t.Errorf("SECURITY.md:%d: #%d cites %s: no func %s in %s", pr.line, n, name, segs[0], pr.dir)
						continue
					}
				case pr.dir == "store/storetest":
					subs = segs
				default:
					t.Errorf("SECURITY.md:%d: #%d cites %q in %s, which is not a test name", pr.line, n, name, pr.dir)
					continue
				}
				for _, sub := range subs {
					if sub == "*" {
						continue
					}
					prefix := strings.HasSuffix(sub, "*")
					sub = strings.TrimSuffix(sub, "*")
					found := false
					for _, cand := range []string{strings.ReplaceAll(sub, "_", " "), sub} {
						q := `"` + cand
						if !prefix {
							q += `"`
						}
						found = found || strings.Contains(src, q)
						// A name made of two literals, as in t.Run("refuses "+tt.name, …).
						for i := 1; !found && !prefix && i < len(cand); i++ {
							found = strings.Contains(src, `"`+cand[:i]+`"`) && strings.Contains(src, `"`+cand[i:]+`"`)
						}
					}
					if !found {
						t.Errorf("SECURITY.md:%d: #%d cites %s: no subtest named %q in %s", pr.line, n, name, sub, pr.dir)
					}
				}
			}
		}
	}
}

// TestCitationsParser pins the citation forms the repository uses, so that
// a change to the parser cannot quietly stop finding them.
func TestCitationsParser(t *testing.T) {
	src := "// (SECURITY.md #4, §5 decision 1). and\n" +
		"// the defaults of SECURITY.md §2; SECURITY.md\n" +
		"//     #63): kept; SECURITY.md #19, #21, #22 and §3 item 2.\n" +
		"see [policy](SECURITY.md#reporting-a-vulnerability), the team's ../shared/SECURITY.md #99,\n" +
		"SECURITY.md #N is a placeholder; SECURITY-COVERAGE.md is gone.\n"
	var got []string
	for _, c := range citations("x.go", src) {
		got = append(got, strconv.Itoa(c.line)+" "+c.key)
	}
	want := []string{
		"5 coverage",
		"1 #4", "1 §5 decision 1",
		"2 §2",
		"2 #63",
		"3 #19", "3 #21", "3 #22", "3 §3 item 2",
		"4 anchor:reporting-a-vulnerability",
	}
	if !slices.Equal(got, want) {
		t.Errorf("citations =\n%q\nwant\n%q", got, want)
	}

	policyText := "# Policy\n## Reporting a vulnerability\n## §3 How it is tested\n### Item 2: a corpus\n" +
		"## §5 Decisions\n### Decision 7: throttled answers\n### A. Things\n#### #1 P0: one\n\nProved by:\n" +
		"- `auth`: `TestA/sub_test`, `TestB` — why, with `code` here.\n\n" +
		"### M. Later (not in this version)\n#### #2 P0: two\n\nNot in this version: later.\n" +
		"```\n#### #3 P0: in a code block\n```\n"
	p, problems := parsePolicy(policyText)
	if len(problems) > 0 {
		t.Errorf("problems: %q", problems)
	}
	for _, key := range []string{"§3", "§3 item 2", "§5", "§5 decision 7"} {
		if !p.sections[key] {
			t.Errorf("section %q not found", key)
		}
	}
	if !p.anchors["reporting-a-vulnerability"] || !p.anchors["1-p0-one"] {
		t.Errorf("anchors = %v", p.anchors)
	}
	if len(p.items) != 2 || p.items[1].priority != "P0" || !p.items[2].notShipped || !p.items[2].notInVersion {
		t.Errorf("items = %+v, %+v", p.items[1], p.items[2])
	}
	if pr := p.items[1].proofs; len(pr) != 1 || pr[0].dir != "auth" || !slices.Equal(pr[0].names, []string{"TestA/sub_test", "TestB"}) {
		t.Errorf("proofs of #1 = %+v", pr)
	}
}
