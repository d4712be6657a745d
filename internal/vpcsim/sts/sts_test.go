package sts

import (
	"encoding/xml"
	"net/http/httptest"
	"testing"
)

// TestResponsesAreWellFormedXML: every STS answer is one well-formed
// document whose root element carries STS's namespace, as in the
// GetCallerIdentity example of the STS API reference
// (<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">).
// botocore's parser rejects anything else; the Go SDK's is lenient.
func TestResponsesAreWellFormedXML(t *testing.T) {
	for name, v := range map[string]any{
		"GetCallerIdentity": callerIdentityResponse{Xmlns: Namespace, Result: callerIdentityResult{Account: "123456789012"}},
		"AssumeRole":        assumeRoleResponse{Xmlns: Namespace},
	} {
		rec := httptest.NewRecorder()
		writeXML(rec, v)
		d := xml.NewDecoder(rec.Body)
		d.Strict = true
		var root struct{ XMLName xml.Name }
		if err := d.Decode(&root); err != nil {
			t.Errorf("%s: %v in %s", name, err, rec.Body.String())
			continue
		}
		if root.XMLName.Space != Namespace || root.XMLName.Local != name+"Response" {
			t.Errorf("%s: root element %v, want %sResponse in %s", name, root.XMLName, name, Namespace)
		}
		if _, err := d.Token(); err == nil {
			t.Errorf("%s: content after the root element", name)
		}
	}
}
