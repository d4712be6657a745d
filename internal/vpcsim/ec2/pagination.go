package ec2

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// paginate returns the page of items a Describe call asked for with
// MaxResults and NextToken, and the token of the next page ("" on the
// last). Without MaxResults every item is returned, as the EC2 API
// reference says of each paginated Describe call ("If this parameter is
// not specified, then all items are returned"); MaxResults must be 5 to
// 1000 (InvalidParameterValue). ids names the ID parameter the call gave:
// DescribeInstances refuses MaxResults with InstanceId.N
// (InvalidParameterCombination), as do DescribeInstanceStatus and
// DescribeNetworkInterfaces, so their callers pass idsParam.
//
// The token is an opaque offset into the list as it is at the time of the
// call: objects created or deleted between pages may shift a page, as the
// reference allows ("the order ... might vary").
func paginate[T any](r *request, items []T, ids string) ([]T, string, error) {
	maxS, tok := r.get("MaxResults"), r.get("NextToken")
	if maxS == "" && tok == "" {
		return items, "", nil
	}
	if err := checkPaging(r, ids); err != nil {
		return nil, "", err
	}
	n := len(items)
	if maxS != "" {
		var err error
		n, err = strconv.Atoi(maxS)
		if err != nil || n < 5 || n > 1000 {
			return nil, "", invalidParam("Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", maxS)
		}
	}
	start := 0
	if tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			start, err = strconv.Atoi(string(b))
		}
		if err != nil || start < 0 {
			return nil, "", errorf(http.StatusBadRequest, "InvalidNextToken", "The token '%s' is invalid.", tok)
		}
	}
	if start > len(items) {
		start = len(items)
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// checkPaging refuses MaxResults with the IDs of ids, before the call
// looks the IDs up, as EC2 checks parameters first.
func checkPaging(r *request, ids string) error {
	if ids != "" && r.get("MaxResults") != "" {
		return errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", ids)
	}
	return nil
}

// idsParam names the wire parameter of list (InstanceId: instanceId) when
// the call gives IDs in it, for paginate's check; "" otherwise.
func idsParam(r *request, list, wire string) string {
	if len(r.list(list)) > 0 {
		return wire
	}
	return ""
}
