package auth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// repoFiles returns the repository's Go files (from the module root, one
// level up), split into library and test files.
func repoFiles(t *testing.T) (lib, tests []string) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		if strings.HasSuffix(path, "_test.go") {
			tests = append(tests, path)
		} else {
			lib = append(lib, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) < 10 {
		t.Fatalf("found only %d library files; is the walk rooted at the module?", len(lib))
	}
	return lib, tests
}

// TestNoMathRand: SECURITY.md #51, every secret comes from crypto/rand (or
// the injected Config.Rand); math/rand is not imported outside tests.
func TestNoMathRand(t *testing.T) {
	lib, _ := repoFiles(t)
	fset := token.NewFileSet()
	for _, path := range lib {
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			// The benchmark tool draws its request mix from a seeded
			// generator, reproducibly; it makes no secrets.
			if strings.HasPrefix(filepath.ToSlash(path), "../cmd/gatehouse-bench/") {
				continue
			}
			if p, _ := strconv.Unquote(imp.Path.Value); p == "math/rand" || p == "math/rand/v2" {
				t.Errorf("%s imports %s", path, p)
			}
		}
	}
}

// TestNoLiteralKeysOrAdminPasswords: SECURITY.md #31 and #60, no signing
// key and no superuser password is written into the code, tests included.
func TestNoLiteralKeysOrAdminPasswords(t *testing.T) {
	lib, tests := repoFiles(t)
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`SigningKey:\s*\[\]byte\("`),
		regexp.MustCompile(`HS256Key\([^,]*,\s*\[\]byte\("`),
		regexp.MustCompile(`GATEHOUSE_SIGNING_KEY=[^\s"]`), // a value, not the end of a string literal
	}
	admin := regexp.MustCompile(`EnsureSuperuser\([^,]+,\s*"[^"]*",\s*"`)
	for _, path := range append(lib, tests...) {
		if filepath.Base(path) == "lint_test.go" {
			continue // the patterns themselves
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range patterns {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: literal key %q", path, b[loc[0]:loc[1]])
			}
		}
		if !strings.HasSuffix(path, "_test.go") && admin.Match(b) {
			t.Errorf("%s: a superuser with a literal password", path)
		}
	}
}

// secretName matches identifiers that hold secrets or their hashes.
var secretName = regexp.MustCompile(`(?i)(token|secret|hash|code|password|verifier)`)

// TestSecretsComparedInConstantTime: SECURITY.md #17, no == or != between
// two values whose names say they are secrets (comparisons with "" or nil,
// and between non-secret fields such as purposes, are fine). Secrets are
// compared with subtle.ConstantTimeCompare and looked up by hash.
func TestSecretsComparedInConstantTime(t *testing.T) {
	lib, _ := repoFiles(t)
	fset := token.NewFileSet()
	for _, path := range lib {
		if !strings.Contains(path, string(filepath.Separator)+"auth"+string(filepath.Separator)) &&
			!strings.Contains(path, string(filepath.Separator)+"store"+string(filepath.Separator)) {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			be, ok := n.(*ast.BinaryExpr)
			if !ok || (be.Op != token.EQL && be.Op != token.NEQ) {
				return true
			}
			if isTrivial(be.X) || isTrivial(be.Y) {
				return true
			}
			if secretName.MatchString(exprName(be.X)) && secretName.MatchString(exprName(be.Y)) {
				t.Errorf("%s: %s %s %s compares secrets with %s", fset.Position(be.Pos()), exprName(be.X), be.Op, exprName(be.Y), be.Op)
			}
			return true
		})
	}
}

// isTrivial reports whether e is a literal, nil or a length.
func isTrivial(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return v.Name == "nil" || v.Name == "true" || v.Name == "false"
	case *ast.CallExpr:
		id, ok := v.Fun.(*ast.Ident)
		return ok && id.Name == "len"
	}
	return false
}

// exprName is the last identifier of an expression (x.y.z → z).
func exprName(e ast.Expr) string {
	switch v := e.(type) {
	case *ast.Ident:
		return v.Name
	case *ast.SelectorExpr:
		return v.Sel.Name
	case *ast.IndexExpr:
		return exprName(v.X)
	case *ast.CallExpr:
		// A conversion such as string(x) is named after what it converts.
		if id, ok := v.Fun.(*ast.Ident); ok && id.Name == "string" && len(v.Args) == 1 {
			return exprName(v.Args[0])
		}
		if _, ok := v.Fun.(*ast.ArrayType); ok && len(v.Args) == 1 {
			return exprName(v.Args[0])
		}
		return exprName(v.Fun)
	case *ast.StarExpr:
		return exprName(v.X)
	case *ast.ParenExpr:
		return exprName(v.X)
	}
	return ""
}
