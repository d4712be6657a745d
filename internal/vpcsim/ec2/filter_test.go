package ec2

import "testing"

// TestFilterGlob follows the EC2 API reference's Filter: "* specifies
// that zero or more characters must match, and ? specifies that exactly
// one character must match. Use a backslash to escape special
// characters. For example, a filter value of \*amazon\?\\ specifies the
// literal string *amazon?\".
func TestFilterGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{`some*value`, "some other value", true},
		{`s?me`, "some", true},
		{`s?me`, "sme", false},
		{`\*amazon\?\\`, `*amazon?\`, true},
		{`\*amazon\?\\`, `xamazonyz`, false},
		{`*value\*`, "other value*", true},
		{`*value\*`, "other value**", false},
		{`*value\*\*`, "other value**", true},
		{`*value\*\?`, "other value*?", true},
		{`*value\*\?`, "other value*x", false},
	} {
		if got := filterGlob(c.pattern, c.s); got != c.want {
			t.Errorf("filterGlob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
