package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxScriptWords bounds the words of one notify script string; keepalived's
// own limit is its line buffer, a few kilobytes.
const maxScriptWords = 64

// SplitScript splits a notify script string into the program and its
// arguments the way keepalived splits the quoted string of notify_master and
// friends (keepalived.conf(5), "Quoted strings"): words are separated by
// unquoted white space; single or double quotes group words and are removed,
// e.g. `/x/notify.sh 'a b'c` is [/x/notify.sh, a bc]; a backslash escapes
// the next character, and inside or outside quotes \a \b \E \f \n \r \t \v,
// \nnn (octal), \xXX (hex) and \cC (control C) stand for that byte. No shell
// runs: $VAR, globs and redirections are passed on as they are.
//
// An empty string has no words; an unmatched quote or a backslash at the end
// is an error.
func SplitScript(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s) {
				return nil, errors.New("a backslash ends the string: nothing to escape")
			}
			b, n := unescape(s[i:])
			cur.WriteByte(b)
			i += n - 1
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			inWord = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("missing terminating %c", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) > maxScriptWords {
		return nil, fmt.Errorf("%d words, more than %d", len(words), maxScriptWords)
	}
	return words, nil
}

// unescape decodes the escape that follows a backslash at the start of s
// and returns the byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	isOct := func(c byte) bool { return c >= '0' && c <= '7' }
	hexVal := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	switch c := s[0]; {
	case c == 'x' && len(s) > 1:
		if _, ok := hexVal(s[1]); ok {
			var b byte
			n := 1
			for ; n <= 2 && n < len(s); n++ {
				v, ok := hexVal(s[n])
				if !ok {
					break
				}
				b = b<<4 | v
			}
			return b, n
		}
		return c, 1
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case isOct(c):
		b, n := c-'0', 1
		for ; n < 3 && n < len(s) && isOct(s[n]); n++ {
			b = b<<3 | (s[n] - '0')
		}
		return b, n
	default:
		if b, ok := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n',
			'r': '\r', 't': '\t', 'v': '\v'}[c]; ok {
			return b, 1
		}
		return c, 1
	}
}

// notifyScripts lists the configured notify scripts with their YAML keys.
func (n Notify) scripts() []struct{ key, script string } {
	return []struct{ key, script string }{
		{"master", n.Master}, {"backup", n.Backup}, {"fault", n.Fault}, {"stop", n.Stop}, {"any", n.Any},
	}
}

// checkScripts reports each notify script whose program this host cannot
// run: missing, not a regular file, or without an execute bit. keepalived
// makes the same check when it loads its configuration.
func checkScripts(x *index, n Notify, prefix string) []error {
	var out []error
	for _, s := range n.scripts() {
		if s.script == "" {
			continue
		}
		words, err := SplitScript(s.script)
		if err != nil || len(words) == 0 || !filepath.IsAbs(words[0]) {
			continue // validation already reported it
		}
		if err := executable(words[0]); err != nil {
			when := "the first " + s.key + " transition"
			if s.key == "any" {
				when = "the first transition"
			}
			out = append(out, x.errorf(prefix+"notify."+s.key, "%v: the script would fail at %s", err, when))
		}
	}
	return out
}

// executable says why path cannot be run, or nil.
func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s does not exist", path)
	case err != nil:
		return fmt.Errorf("stat %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %s; chmod +x)", path, fi.Mode().Perm())
	}
	return nil
}
