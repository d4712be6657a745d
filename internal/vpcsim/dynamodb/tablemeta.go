package dynamodb

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What a table keeps beside its schema and items: tags, time to live,
// point-in-time recovery and, for a restored table, where it came from;
// and the account-level DescribeLimits and DescribeEndpoints.

// tableExtra is kept on each table; a copy of a table (backup, restore)
// starts without it.
type tableExtra struct {
	tags    []tag
	ttl     ttlState
	pitr    pitr
	restore map[string]any
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// maxTags is how many tags a table may have (Developer Guide, "Tagging
// resources in DynamoDB", tagging restrictions: "Maximum number of tags
// per resource – 50").
const maxTags = 50

// tagsPage is how many tags one ListTagsOfResource answer holds before
// NextToken; the API reference leaves the page size unstated.
const tagsPage = 10

func checkTags(tags []tag) error {
	for _, t := range tags {
		// Tagging restrictions: "Maximum key length – 128 Unicode
		// characters", "Maximum value length – 256 Unicode characters",
		// "The aws: prefix is reserved for AWS use".
		if n := len([]rune(t.Key)); n < 1 || n > 128 {
			return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128", t.Key))
		}
		if len([]rune(t.Value)) > 256 {
			return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256", t.Value))
		}
		if strings.HasPrefix(t.Key, "aws:") {
			return validation("One or more parameter values were invalid: Tag keys starting with 'aws:' are reserved for system use")
		}
	}
	return nil
}

// addTags sets tags on t: a key it has keeps its place and takes the new
// value (API reference TagResource: "Associate a set of tags with an
// Amazon DynamoDB resource").
func (t *table) addTags(tags []tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	next := slices.Clone(t.extra.tags)
	for _, nt := range tags {
		if i := slices.IndexFunc(next, func(x tag) bool { return x.Key == nt.Key }); i >= 0 {
			next[i].Value = nt.Value
			continue
		}
		next = append(next, nt)
	}
	if len(next) > maxTags {
		return validation(fmt.Sprintf("One or more parameter values were invalid: The number of tags on the resource exceeds the limit of %d", maxTags))
	}
	t.extra.tags = next
	return nil
}

// taggedLocked finds the table a ResourceArn names.
func (s *regionDB) taggedLocked(arn string) (*table, error) {
	prefix := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/", s.opts.Region, s.opts.AccountID)
	name, ok := strings.CutPrefix(arn, prefix)
	if t, found := s.tables[name]; ok && found {
		return t, nil
	}
	return nil, &apiError{"ResourceNotFoundException", "Requested resource not found"}
}

type tagResourceRequest struct {
	ResourceArn string `json:"ResourceArn"`
	Tags        []tag  `json:"Tags"`
}

func (s *regionDB) tagResource(req *tagResourceRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.taggedLocked(req.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, t.addTags(req.Tags)
}

type untagResourceRequest struct {
	ResourceArn string   `json:"ResourceArn"`
	TagKeys     []string `json:"TagKeys"`
}

func (s *regionDB) untagResource(req *untagResourceRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.taggedLocked(req.ResourceArn)
	if err != nil {
		return nil, err
	}
	t.extra.tags = slices.DeleteFunc(t.extra.tags, func(x tag) bool { return slices.Contains(req.TagKeys, x.Key) })
	return map[string]any{}, nil
}

type listTagsRequest struct {
	ResourceArn string `json:"ResourceArn"`
	NextToken   string `json:"NextToken"`
}

func (s *regionDB) listTagsOfResource(req *listTagsRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.taggedLocked(req.ResourceArn)
	if err != nil {
		return nil, err
	}
	start := 0
	if req.NextToken != "" {
		n, err := strconv.Atoi(req.NextToken)
		if err != nil || n < 0 || n > len(t.extra.tags) {
			return nil, validation("Invalid NextToken")
		}
		start = n
	}
	end := min(start+tagsPage, len(t.extra.tags))
	out := map[string]any{"Tags": append([]tag{}, t.extra.tags[start:end]...)}
	if end < len(t.extra.tags) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

// ttlState is a table's time to live. Items are never expired: DynamoDB
// deletes expired items "within a few days of their expiration time"
// (Developer Guide, "Using time to live (TTL) in DynamoDB"), so keeping
// them is within its contract.
type ttlState struct {
	enabled bool
	attr    string
	changed time.Time
}

// ttlInterval is how long after an UpdateTimeToLive the table's TTL cannot
// change again (API reference UpdateTimeToLive: "It can take up to one
// hour for the change to fully process. Any additional UpdateTimeToLive
// calls for the same table during this one hour duration result in a
// ValidationException").
const ttlInterval = time.Hour

type updateTTLRequest struct {
	TableName               string `json:"TableName"`
	TimeToLiveSpecification *struct {
		Enabled       *bool  `json:"Enabled"`
		AttributeName string `json:"AttributeName"`
	} `json:"TimeToLiveSpecification"`
}

func (s *regionDB) updateTimeToLive(req *updateTTLRequest) (any, error) {
	spec := req.TimeToLiveSpecification
	if spec == nil || spec.Enabled == nil {
		return nil, validation("1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null")
	}
	if n := len(spec.AttributeName); n < 1 || n > 255 {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length greater than or equal to 1", spec.AttributeName))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableLocked(req.TableName)
	if err != nil {
		return nil, err
	}
	cur := t.extra.ttl
	switch {
	case *spec.Enabled && cur.enabled:
		return nil, validation("TimeToLive is already enabled")
	case !*spec.Enabled && !cur.enabled:
		// As DynamoDB answers a table that never had TTL
		// (hashicorp/terraform-provider-aws#10304: "ValidationException:
		// TimeToLive is already disabled").
		return nil, validation("TimeToLive is already disabled")
	case !*spec.Enabled && spec.AttributeName != cur.attr:
		return nil, validation("TimeToLive is active on a different AttributeName: current AttributeName is " + cur.attr)
	}
	now := s.opts.Now()
	if !cur.changed.IsZero() && now.Sub(cur.changed) < ttlInterval {
		return nil, validation("Time to live has been modified multiple times within a fixed interval")
	}
	t.extra.ttl = ttlState{enabled: *spec.Enabled, attr: spec.AttributeName, changed: now}
	return map[string]any{"TimeToLiveSpecification": map[string]any{"Enabled": *spec.Enabled, "AttributeName": spec.AttributeName}}, nil
}

func (s *regionDB) describeTimeToLive(req *tableNameRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableLocked(req.TableName)
	if err != nil {
		return nil, err
	}
	// The change is complete at once, as tables are ACTIVE at once: no
	// ENABLING or DISABLING phase.
	d := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if t.extra.ttl.enabled {
		d = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.extra.ttl.attr}
	}
	return map[string]any{"TimeToLiveDescription": d}, nil
}

// Default provisioned-capacity quotas (Developer Guide, "Quotas in Amazon
// DynamoDB", read/write throughput: "Per table – 40,000 read request
// units and 40,000 write request units"; "Per account – 80,000 read
// capacity units and 80,000 write capacity units").
const (
	accountMaxUnits = 80000
	tableMaxUnits   = 40000
)

func (s *regionDB) describeLimits(*struct{}) (any, error) {
	return map[string]any{
		"AccountMaxReadCapacityUnits":  accountMaxUnits,
		"AccountMaxWriteCapacityUnits": accountMaxUnits,
		"TableMaxReadCapacityUnits":    tableMaxUnits,
		"TableMaxWriteCapacityUnits":   tableMaxUnits,
	}, nil
}

// describeEndpoints names the region's DynamoDB endpoint (API reference
// DescribeEndpoints: "Returns the regional endpoint information").
// CachePeriodInMinutes, "Endpoint cache time to live (TTL) value", is not
// given in the reference; 1440 (a day) is what moto's
// test_describe_endpoints records.
func (s *regionDB) describeEndpoints(*struct{}) (any, error) {
	return map[string]any{"Endpoints": []map[string]any{{
		"Address":              "dynamodb." + s.opts.Region + ".amazonaws.com",
		"CachePeriodInMinutes": 1440,
	}}}, nil
}
