package iam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// verifySigV4 checks an Authorization header signed with AWS Signature
// Version 4 ("Create a signed AWS API request" in the IAM user guide): it
// rebuilds the canonical request from the headers the client says it
// signed, derives the signing key from secret and the credential scope, and
// compares signatures in constant time. Request age is not checked, so a
// simulator under a debugger keeps working.
func verifySigV4(hr *http.Request, body []byte, secret string) error {
	auth := hr.Header.Get("Authorization")
	if auth == "" {
		return errors.New("presigned requests are not verified")
	}
	algo, rest, _ := strings.Cut(auth, " ")
	if algo != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("algorithm %q is not AWS4-HMAC-SHA256", algo)
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	scopeParts := strings.SplitN(cred, "/", 2)
	if len(scopeParts) != 2 || signed == "" || sig == "" {
		return errors.New("incomplete Authorization header")
	}
	scope := scopeParts[1] // date/region/service/aws4_request
	sp := strings.Split(scope, "/")
	if len(sp) != 4 || sp[3] != "aws4_request" {
		return fmt.Errorf("credential scope %q is malformed", scope)
	}
	amzDate := hr.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return errors.New("missing X-Amz-Date")
	}

	var canon strings.Builder
	canon.WriteString(hr.Method + "\n")
	path := hr.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n")
	canon.WriteString(canonicalQuery(hr.URL.Query()) + "\n")
	for _, h := range strings.Split(signed, ";") {
		canon.WriteString(h + ":" + headerValue(hr, h) + "\n")
	}
	canon.WriteString("\n" + signed + "\n")
	payload := hr.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	canon.WriteString(payload)

	crHash := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := []byte("AWS4" + secret)
	for _, p := range sp {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errors.New("signature does not match")
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// headerValue is a signed header's canonical value: values joined with
// commas, spaces trimmed and runs of spaces collapsed.
func headerValue(hr *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{hr.Host}
	case "content-length":
		vals = hr.Header.Values("Content-Length")
		if len(vals) == 0 {
			vals = []string{fmt.Sprint(hr.ContentLength)}
		}
	default:
		vals = hr.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalQuery sorts encoded parameters by name, then value.
func canonicalQuery(q url.Values) string {
	var pairs [][2]string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, [2]string{uriEncode(k), uriEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
