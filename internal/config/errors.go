package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, located in its file. Parse,
// Load and Validate return them joined with errors.Join; find them with
// errors.As or walk the join with an Unwrap() []error assertion.
type Error struct {
	// Source is the file name as given to Load or Parse ("" when unknown).
	Source string
	// Line and Column are 1-based; 0 when the config was not parsed from
	// YAML (a config built in code) or the problem has no place.
	Line, Column int
	// Path is the YAML path of the offending value, e.g.
	// "resources[0].overlay-route.cidr"; "" for the document as a whole.
	Path string
	// Msg says what is wrong, and where possible how to fix it.
	Msg string
}

// Error formats e as "file:line:column: path: message", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteString(":")
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// pos is a place in the source.
type pos struct{ line, col int }

// index maps YAML paths to where they were written, so that semantic
// errors found after decoding still name a line. A nil *index (a config
// built in code) knows no places.
type index struct {
	source string
	// keys holds the position of a mapping key, values the position of the
	// value (for sequence elements, which have no key, only values).
	keys, values map[string]pos
}

func newIndex(source string) *index {
	return &index{source: source, keys: map[string]pos{}, values: map[string]pos{}}
}

// lookup returns the position of path: its key, else its value, else that
// of the nearest ancestor that was written (a missing required field is
// reported at its parent).
func (x *index) lookup(path string) pos {
	if x == nil {
		return pos{}
	}
	for {
		if p, ok := x.keys[path]; ok {
			return p
		}
		if p, ok := x.values[path]; ok {
			return p
		}
		if path == "" {
			return pos{}
		}
		path = parentPath(path)
	}
}

// errorf returns an *Error for path, placed by the index.
func (x *index) errorf(path, format string, args ...any) *Error {
	p := x.lookup(path)
	e := &Error{Line: p.line, Column: p.col, Path: path, Msg: fmt.Sprintf(format, args...)}
	if x != nil {
		e.Source = x.source
	}
	return e
}

// parentPath strips the last element of a YAML path:
// "a.b[2]" → "a.b", "a.b" → "a", "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// joinPath appends a mapping key to a YAML path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a sequence index to a YAML path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to s,
// or "" when none is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// A third of the word, and at least one edit: "raf" → "raft",
	// "adress" → "address", but "foo" suggests nothing.
	limit := max(1, len(best)/3)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// oneOf formats a closed set for an error message.
func oneOf(set []string) string {
	s := append([]string(nil), set...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// editDistance is the Levenshtein distance between a and b in bytes, with a
// transposition of neighbours ("atuo") counting as one edit.
func editDistance(a, b string) int {
	// Three rows of the optimal-string-alignment table.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Places says where the values of a parsed configuration were written, so
// that what is found about them later (vipd check) can name the line as a
// validation error does. The zero Places (a configuration built in code)
// knows no places.
type Places struct{ idx *index }

// At returns "file:line" of the YAML path ("resources[0].assume-role"),
// or of its nearest written ancestor, or "" when unknown.
func (p Places) At(path string) string {
	at := p.idx.lookup(path)
	if at.line == 0 {
		return ""
	}
	src := p.idx.source
	if src == "" {
		src = "line "
	} else {
		src += ":"
	}
	return src + strconv.Itoa(at.line)
}

// Equal is always true: where a value was written is not part of the
// configuration's value (go-cmp compares with it).
func (Places) Equal(Places) bool { return true }
