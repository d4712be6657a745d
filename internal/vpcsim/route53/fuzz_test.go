package route53_test

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

const fuzzZone = `<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>example.com</Name><CallerReference>fuzz</CallerReference></CreateHostedZoneRequest>`

// FuzzChangeBatchXML sends arbitrary documents as a change batch: the
// answer is a success or a client error in Route 53's XML shape, never a
// panic or a server error.
func FuzzChangeBatchXML(f *testing.F) {
	f.Add(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><TTL>10</TTL><ResourceRecords><ResourceRecord><Value>10.0.0.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`)
	f.Add(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>DELETE</Action><ResourceRecordSet><Name>example.com</Name><Type>SOA</Type><TTL>900</TTL><ResourceRecords><ResourceRecord><Value>x</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`)
	f.Add(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`)
	f.Add(`<`)
	f.Fuzz(func(t *testing.T, body string) {
		h := route53.New(route53.Options{}).Handler()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2013-04-01/hostedzone", strings.NewReader(fuzzZone)))
		var created struct {
			HostedZone struct{ Id string }
		}
		if err := xml.Unmarshal(w.Body.Bytes(), &created); err != nil || w.Code != http.StatusCreated {
			t.Fatalf("create zone: %d %s", w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2013-04-01"+created.HostedZone.Id+"/rrset/", strings.NewReader(body)))
		if w.Code == http.StatusOK {
			return
		}
		var er struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(w.Body.Bytes(), &er); err != nil || w.Code >= 500 || er.Error.Code == "" || er.Error.Type != "Sender" {
			t.Fatalf("body %q: HTTP %d %s, want 200 or a Sender error", body, w.Code, bytes.TrimSpace(w.Body.Bytes()))
		}
	})
}
