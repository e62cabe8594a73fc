// Command funclen reports every Go function (or method) longer than the
// project's limit, counted in lines from "func" to the closing brace, and
// exits with status 1 when there is one. Issue 10 sets the limits: 80 lines
// in the packages a reader most often has to follow (the run, the native
// engine, the TensorFlow backend and the commands) and 100 elsewhere. Test
// files, testdata and hidden directories are not checked.
//
//	go run ./internal/tools/funclen [-limit 100] [-strict-limit 80] [root]
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// exempt lists the functions the limits do not apply to, as
// "path/from/root.go:Name" (or ":Recv.Name") for one function or "path/from/root.go" for a
// whole file, each with the reason it stays long.
var exempt = []string{
	// The assembly generator writes one kernel per function, instruction
	// by instruction; splitting it would scatter a kernel's register plan.
	"internal/nn/fast/gen.go",
	// Being split in its own change; remove this entry when it is.
	"internal/nn/conv_kernel.go:convCore.block",
}

// strictDirs are the directories (from the root, slash-separated) whose
// functions get the strict limit.
var strictDirs = []string{"internal/stylize", "internal/native", "internal/tfbackend", "cmd"}

// tooLong is one function over its limit.
type tooLong struct {
	path  string // slash-separated, from the root
	name  string // Name, or Recv.Name for a method
	lines int
	limit int
}

func main() {
	limit := flag.Int("limit", 100, "most lines a function may have")
	strictLimit := flag.Int("strict-limit", 80, "most lines a function may have in "+strings.Join(strictDirs, ", "))
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: funclen [flags] [root]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	root := "."
	switch flag.NArg() {
	case 0:
	case 1:
		root = flag.Arg(0)
	default:
		flag.Usage()
		os.Exit(2)
	}
	found, err := check(root, *limit, *strictLimit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "funclen:", err)
		os.Exit(2)
	}
	report(os.Stdout, found)
	if len(found) > 0 {
		os.Exit(1)
	}
}

// report writes one line per function over its limit.
func report(w io.Writer, found []tooLong) {
	for _, f := range found {
		fmt.Fprintf(w, "%s: %s is %d lines (limit %d)\n", f.path, f.name, f.lines, f.limit)
	}
}

// check walks root and returns the functions over their limit, in file
// order. A file that does not parse is an error: it would hide its
// functions from the check.
func check(root string, limit, strictLimit int) ([]tooLong, error) {
	var found []tooLong
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") || slices.Contains(exempt, rel) {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		lim := limitFor(rel, limit, strictLimit)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := funcName(fd)
			if slices.Contains(exempt, rel+":"+name) {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if n > lim {
				found = append(found, tooLong{path: rel, name: name, lines: n, limit: lim})
			}
		}
		return nil
	})
	return found, err
}

// limitFor is the limit for the file at rel (slash-separated, from the root).
func limitFor(rel string, limit, strictLimit int) int {
	for _, dir := range strictDirs {
		if strings.HasPrefix(rel, dir+"/") {
			return strictLimit
		}
	}
	return limit
}

// funcName is fd's name, with its receiver's type for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.ParenExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}
