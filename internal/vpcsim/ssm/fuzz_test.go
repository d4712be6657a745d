package ssm_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/vpcsim/ssm"
)

// FuzzHandler feeds arbitrary operations and bodies to the JSON 1.1
// handler: it must answer 200 or 400 with a JSON body, never panic.
func FuzzHandler(f *testing.F) {
	f.Add("PutParameter", `{"Name":"MasterDB_VIP","Value":"i-0a 1","Type":"String"}`)
	f.Add("PutParameter", `{"Name":"/a/b","Value":"x","Type":"SecureString","Overwrite":true}`)
	f.Add("GetParameter", `{"Name":"MasterDB_VIP:1","WithDecryption":true}`)
	f.Add("GetParameterHistory", `{"Name":"MasterDB_VIP","MaxResults":1,"NextToken":"1"}`)
	f.Add("DeleteParameter", `{"Name":"MasterDB_VIP"}`)
	f.Add("GetParameter", `{"Name":`)
	svc := ssm.New(ssm.Options{})
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, op, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", ssm.TargetPrefix+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Errorf("%s %q: status %d", op, body, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("content type %q", ct)
		}
	})
}
