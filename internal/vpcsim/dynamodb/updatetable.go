package dynamodb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// UpdateTable: billing mode, throughput, deletion protection, the stream
// specification, warm throughput and GlobalSecondaryIndexUpdates. Changes
// take effect at once; the table and a new index are ACTIVE in the answer.

type updateTableRequest struct {
	TableName                   string               `json:"TableName"`
	AttributeDefinitions        []attrDef            `json:"AttributeDefinitions"`
	BillingMode                 string               `json:"BillingMode"`
	ProvisionedThroughput       *throughput          `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexUpdates []gsiUpdate          `json:"GlobalSecondaryIndexUpdates"`
	DeletionProtectionEnabled   *bool                `json:"DeletionProtectionEnabled"`
	StreamSpecification         *streamSpecification `json:"StreamSpecification"`
	WarmThroughput              *warmThroughput      `json:"WarmThroughput"`
	// Parameters vpcsim does not model, refused rather than ignored.
	SSESpecification       json.RawMessage `json:"SSESpecification"`
	TableClass             json.RawMessage `json:"TableClass"`
	ReplicaUpdates         json.RawMessage `json:"ReplicaUpdates"`
	OnDemandThroughput     json.RawMessage `json:"OnDemandThroughput"`
	MultiRegionConsistency json.RawMessage `json:"MultiRegionConsistency"`
}

// gsiUpdate is one GlobalSecondaryIndexUpdate: exactly one of Create,
// Update and Delete.
type gsiUpdate struct {
	Create *indexRequest `json:"Create"`
	Update *struct {
		IndexName             string          `json:"IndexName"`
		ProvisionedThroughput *throughput     `json:"ProvisionedThroughput"`
		WarmThroughput        *warmThroughput `json:"WarmThroughput"`
	} `json:"Update"`
	Delete *struct {
		IndexName string `json:"IndexName"`
	} `json:"Delete"`
}

func indexNotFound(name string) *apiError {
	return &apiError{"ResourceNotFoundException", "Requested resource not found: Index: " + name + " not found"}
}

func (s *regionDB) updateTable(req *updateTableRequest) (any, error) {
	const head = "One or more parameter values were invalid: "
	for _, p := range []struct {
		name string
		raw  json.RawMessage
	}{{"SSESpecification", req.SSESpecification}, {"TableClass", req.TableClass}, {"ReplicaUpdates", req.ReplicaUpdates},
		{"OnDemandThroughput", req.OnDemandThroughput}, {"MultiRegionConsistency", req.MultiRegionConsistency}} {
		if set(p.raw) {
			return nil, validation("vpcsim does not model UpdateTable's " + p.name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t0, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, notFound(req.TableName)
	}
	// Work on a copy so that a request refused half-way changes nothing.
	t := *t0
	t.indexes = slices.Clone(t0.indexes)
	var deleted []*index
	switch req.BillingMode {
	case "", t.billing:
	case "PROVISIONED", "PAY_PER_REQUEST":
		t.billing = req.BillingMode
		t.billingChanged = true
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", req.BillingMode))
	}
	if pt := req.ProvisionedThroughput; pt != nil {
		if t.billing == "PAY_PER_REQUEST" {
			return nil, validation(head + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
		if pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return nil, validation(head + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits < 1 || *pt.WriteCapacityUnits < 1 {
			return nil, validation(head + "Provisioned throughput values must be at least 1")
		}
		t.rcu, t.wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
	}
	if t.billingChanged && t.billing != t0.billing {
		if t.billing == "PAY_PER_REQUEST" {
			// API reference ProvisionedThroughput: "If read/write capacity
			// mode is PAY_PER_REQUEST the value is set to 0."
			t.rcu, t.wcu = 0, 0
			t.payPerRequestAt = s.opts.Now()
			t.opts.warmRead, t.opts.warmWrite = max(t.opts.warmRead, onDemandWarmRead), max(t.opts.warmWrite, onDemandWarmWrite)
			for i, ix := range t.indexes {
				c := *ix
				c.rcu, c.wcu = 0, 0
				c.warmRead, c.warmWrite = max(c.warmRead, onDemandWarmRead), max(c.warmWrite, onDemandWarmWrite)
				t.indexes[i] = &c
			}
		} else if req.ProvisionedThroughput == nil {
			return nil, validation(head + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
	}
	if req.DeletionProtectionEnabled != nil {
		t.deletionProtection = *req.DeletionProtectionEnabled
	}
	if st := req.StreamSpecification; st != nil {
		switch {
		case st.StreamEnabled && t.opts.stream != nil:
			return nil, validation("Table already has an enabled stream: TableName: " + t.name)
		case st.StreamEnabled:
			// The stream checks are CreateTable's.
			probe := &table{created: s.opts.Now(), billing: t.billing}
			if err := s.applyOptions(probe, &createTableRequest{StreamSpecification: st}); err != nil {
				return nil, err
			}
			t.opts.stream, t.opts.streamLabel = probe.opts.stream, probe.opts.streamLabel
		default:
			t.opts.stream, t.opts.streamLabel = nil, ""
		}
	}
	if w := req.WarmThroughput; w != nil {
		if w.ReadUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.ReadUnitsPerSecond < onDemandWarmRead {
				return nil, validation(head + "Requested ReadUnitsPerSecond for WarmThroughput for table is lower than initial throughput for OnDemand")
			}
			t.opts.warmRead = *w.ReadUnitsPerSecond
		}
		if w.WriteUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.WriteUnitsPerSecond < onDemandWarmWrite {
				return nil, validation(head + "Requested WriteUnitsPerSecond for WarmThroughput for table is lower than initial throughput for OnDemand")
			}
			t.opts.warmWrite = *w.WriteUnitsPerSecond
		}
	}
	// API reference UpdateTable: "You can create or delete only one global
	// secondary index per UpdateTable operation."
	structural := 0
	for _, u := range req.GlobalSecondaryIndexUpdates {
		if u.Create != nil || u.Delete != nil {
			structural++
		}
	}
	if structural > 1 {
		return nil, &apiError{"LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"}
	}
	defs := map[string]kind{}
	for _, d := range t.attrDefs {
		defs[d.AttributeName] = d.AttributeType
	}
	for _, d := range req.AttributeDefinitions {
		if d.AttributeType != kindS && d.AttributeType != kindN && d.AttributeType != kindB {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType))
		}
		defs[d.AttributeName] = d.AttributeType
	}
	for i, u := range req.GlobalSecondaryIndexUpdates {
		at := fmt.Sprintf("globalSecondaryIndexUpdates.%d.member.", i+1)
		switch {
		case u.Create != nil:
			if t.index(u.Create.IndexName) != nil {
				return nil, validation("Attempting to create an index which already exists")
			}
			var missing []string
			for _, k := range u.Create.KeySchema {
				if _, ok := defs[k.AttributeName]; !ok {
					missing = append(missing, k.AttributeName)
				}
			}
			if missing != nil {
				return nil, validation(fmt.Sprintf(head+"Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: %s", strings.Join(missing, ", "), attrNames(req.AttributeDefinitions)))
			}
			ix, err := t.buildIndex(*u.Create, true, at+"create.", defs)
			if err != nil {
				return nil, err
			}
			t.indexes = append(t.indexes, ix)
			n := 0
			for _, x := range t.indexes {
				if x.global {
					n++
				}
			}
			if n > maxGSIs {
				return nil, &apiError{"LimitExceededException", fmt.Sprintf("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of %d", maxGSIs)}
			}
			if err := checkProjectedCount(t.indexes); err != nil {
				return nil, err
			}
		case u.Update != nil:
			i := slices.IndexFunc(t.indexes, func(x *index) bool { return x.global && x.name == u.Update.IndexName })
			if i < 0 {
				return nil, indexNotFound(u.Update.IndexName)
			}
			c := *t.indexes[i]
			if pt := u.Update.ProvisionedThroughput; pt != nil {
				if t.billing == "PAY_PER_REQUEST" {
					return nil, validation(head + "ProvisionedThroughput should not be specified for index: " + c.name + " when BillingMode is PAY_PER_REQUEST")
				}
				if pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil || *pt.ReadCapacityUnits < 1 || *pt.WriteCapacityUnits < 1 {
					return nil, validation(head + "Provisioned throughput values must be at least 1")
				}
				c.rcu, c.wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
			}
			if w := u.Update.WarmThroughput; w != nil {
				if w.ReadUnitsPerSecond != nil {
					c.warmRead = *w.ReadUnitsPerSecond
				}
				if w.WriteUnitsPerSecond != nil {
					c.warmWrite = *w.WriteUnitsPerSecond
				}
			}
			t.indexes[i] = &c
		case u.Delete != nil:
			i := slices.IndexFunc(t.indexes, func(x *index) bool { return x.global && x.name == u.Delete.IndexName })
			if i < 0 {
				return nil, indexNotFound(u.Delete.IndexName)
			}
			deleted = append(deleted, t.indexes[i])
			t.indexes = slices.Delete(t.indexes, i, i+1)
		default:
			return nil, validation(head + "One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update or GlobalSecondaryIndexUpdate.Delete must be specified")
		}
	}
	if t.billing == "PROVISIONED" {
		for _, ix := range t.indexes {
			if ix.global && ix.rcu == 0 {
				return nil, validation(head + "ProvisionedThroughput must be specified for index: " + ix.name)
			}
		}
	}
	t.attrDefs = usedAttrDefs(&t, req.AttributeDefinitions, defs)
	*t0 = t
	d := s.describeLocked(t0, "ACTIVE")
	if len(deleted) > 0 {
		// The index goes at once; the answer still shows it DELETING,
		// as DeleteTable's shows its table.
		probe := &table{name: t0.name, hashKey: t0.hashKey, rangeKey: t0.rangeKey, indexes: deleted}
		gone := map[string]any{}
		probe.describeIndexes(gone, d["TableArn"].(string))
		list, _ := d["GlobalSecondaryIndexes"].([]map[string]any)
		for _, g := range gone["GlobalSecondaryIndexes"].([]map[string]any) {
			g["IndexStatus"] = "DELETING"
			list = append(list, g)
		}
		d["GlobalSecondaryIndexes"] = list
	}
	return map[string]any{"TableDescription": d}, nil
}

// usedAttrDefs are the definitions of the attributes t's and its indexes'
// key schemas use: those t had, in their order, then new ones in the
// request's. DynamoDB keeps no others (CreateTable refuses unused ones).
func usedAttrDefs(t *table, req []attrDef, defs map[string]kind) []attrDef {
	used := map[string]bool{}
	for _, k := range t.keys() {
		used[k.name] = true
	}
	for _, ix := range t.indexes {
		for _, k := range ix.keys() {
			used[k.name] = true
		}
	}
	var out []attrDef
	for _, d := range slices.Concat(t.attrDefs, req) {
		if used[d.AttributeName] {
			out = append(out, attrDef{d.AttributeName, defs[d.AttributeName]})
			delete(used, d.AttributeName)
		}
	}
	return out
}
