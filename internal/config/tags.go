package config

import (
	"strings"
	"unicode/utf8"
)

// Tag is one tag an object must carry to be selected.
type Tag struct {
	// Key is the tag's key (case-sensitive).
	Key string `yaml:"key"`
	// Value is the tag's value (case-sensitive; * and ? are wildcards, as
	// in EC2's filters); "" selects every object with the key, whatever
	// its value.
	Value string `yaml:"value"`
}

// String is "Key=Value", or "Key" when any value matches.
func (t Tag) String() string {
	if t.Value == "" {
		return t.Key
	}
	return t.Key + "=" + t.Value
}

// TagsString names a selector in messages: its tags joined by commas.
func TagsString(tags []Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

// EC2's tag limits: keys up to 128 characters, values up to 256.
const (
	maxTagKey   = 128
	maxTagValue = 256
)

// tags checks a tag selector: at least one tag, each with a key within
// EC2's limits, no key twice (an object has one value per key, so two
// values of one key could never both match).
func (v *validator) tags(path string, tags []Tag) {
	if len(tags) == 0 {
		v.errorf(path, "empty; list at least one {key: K, value: V}")
		return
	}
	seen := map[string]string{}
	for i, t := range tags {
		at := indexPath(path, i)
		switch {
		case t.Key == "":
			v.errorf(at+".key", "required: the tag's key")
		case utf8.RuneCountInString(t.Key) > maxTagKey:
			v.errorf(at+".key", "longer than EC2's %d characters", maxTagKey)
		case seen[t.Key] != "":
			v.errorf(at+".key", "%q is already selected at %s; an object has one value per key, so both could never match", t.Key, seen[t.Key])
		default:
			seen[t.Key] = at
		}
		if utf8.RuneCountInString(t.Value) > maxTagValue {
			v.errorf(at+".value", "longer than EC2's %d characters", maxTagValue)
		}
	}
}
