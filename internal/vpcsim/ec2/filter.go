package ec2

import (
	"github.com/vipd/vipd/internal/vpcsim/iam"
	"slices"
	"strconv"
	"strings"
)

// filter is one Filter.N of a Describe call.
type filter struct {
	name   string
	values []string
}

// filters reads Filter.N.Name and Filter.N.Value.M and checks the names
// against those the resource supports ("tag:" matches any tag:Key). EC2
// answers an unknown filter name with InvalidParameterValue.
func (r *request) filters(known ...string) ([]filter, error) {
	var idx []int
	for k := range r.form {
		rest, ok := strings.CutPrefix(k, "Filter.")
		if !ok {
			continue
		}
		n, tail, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || tail != "Name" {
			continue
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]filter, 0, len(idx))
	for _, i := range idx {
		p := "Filter." + strconv.Itoa(i)
		name := r.get(p + ".Name")
		if name == "" {
			return nil, invalidParam("The filter 'null' is invalid")
		}
		if !knownFilter(name, known) {
			return nil, invalidParam("The filter '%s' is invalid", name)
		}
		out = append(out, filter{name: name, values: r.list(p + ".Value")})
	}
	return out, nil
}

func knownFilter(name string, known []string) bool {
	if strings.HasPrefix(name, "tag:") || name == "tag-key" || name == "tag-value" {
		return true
	}
	for _, k := range known {
		if k == name {
			return true
		}
	}
	return false
}

// match reports whether an object passes every filter (filters AND, values
// OR, each value a pattern with * and ?). attr returns the object's values
// for a filter name: several when the name reaches into a list, so that
// association.main=false matches a table with any non-main association, as
// EC2 matches each attribute independently.
func match(fs []filter, tags map[string]string, attr func(name string) []string) bool {
	for _, f := range fs {
		var have []string
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			v, ok := tags[strings.TrimPrefix(f.name, "tag:")]
			if !ok {
				return false
			}
			have = []string{v}
		case f.name == "tag-key":
			for k := range tags {
				have = append(have, k)
			}
		case f.name == "tag-value":
			for _, v := range tags {
				have = append(have, v)
			}
		default:
			have = attr(f.name)
		}
		if !anyMatch(f.values, have) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, have []string) bool {
	for _, p := range patterns {
		for _, h := range have {
			if filterGlob(p, h) {
				return true
			}
		}
	}
	return false
}

// filterGlob matches a filter value against s: "* specifies that zero or
// more characters must match, and ? specifies that exactly one character
// must match. Use a backslash to escape special characters. For example,
// a filter value of \*amazon\?\\ specifies the literal string
// *amazon?\" (EC2 API reference, Filter). Without a backslash it is
// iam.Glob; with one, the escaped characters become literals that
// iam.Glob never sees as wildcards.
func filterGlob(pattern, s string) bool {
	if !strings.Contains(pattern, `\`) {
		return iam.Glob(pattern, s)
	}
	type tok struct {
		c    byte
		wild bool
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c == '\\' && i+1 < len(pattern) {
			i++
			toks = append(toks, tok{c: pattern[i]})
			continue
		}
		toks = append(toks, tok{c: c, wild: c == '*' || c == '?'})
	}
	var match func(ti, si int) bool
	match = func(ti, si int) bool {
		for ti < len(toks) {
			t := toks[ti]
			switch {
			case t.wild && t.c == '*':
				for k := si; k <= len(s); k++ {
					if match(ti+1, k) {
						return true
					}
				}
				return false
			case si >= len(s):
				return false
			case t.wild || s[si] == t.c:
				ti, si = ti+1, si+1
			default:
				return false
			}
		}
		return si == len(s)
	}
	return match(0, 0)
}

func boolStr(b bool) string { return strconv.FormatBool(b) }
