package dynamodb

import (
	"fmt"
	"strings"
)

// CreateTable's options that change only what DescribeTable reports:
// server-side encryption, the stream specification and warm throughput.

type sseSpecification struct {
	Enabled        *bool  `json:"Enabled"`
	SSEType        string `json:"SSEType"`
	KMSMasterKeyID string `json:"KMSMasterKeyId"`
}

type streamSpecification struct {
	StreamEnabled  bool   `json:"StreamEnabled"`
	StreamViewType string `json:"StreamViewType,omitempty"`
}

type warmThroughput struct {
	ReadUnitsPerSecond  *int64 `json:"ReadUnitsPerSecond"`
	WriteUnitsPerSecond *int64 `json:"WriteUnitsPerSecond"`
}

// onDemandWarmRead and onDemandWarmWrite are a new on-demand table's warm
// throughput (Developer Guide, "Understanding DynamoDB warm throughput in
// different scenarios": "New on-demand tables start with a warm
// throughput of 12,000 read units per second and 4,000 write units per
// second").
const (
	onDemandWarmRead  = 12000
	onDemandWarmWrite = 4000
)

// tableOptions is what a table keeps of those options.
type tableOptions struct {
	// sseKeyArn is the KMS key of KMS encryption; empty for encryption
	// with an AWS owned key, which DescribeTable does not report.
	sseKeyArn string
	stream    *streamSpecification
	// streamLabel is the stream's creation time as DynamoDB labels it.
	streamLabel string
	// warmRead and warmWrite are zero when the table has no warm
	// throughput to report.
	warmRead, warmWrite int64
}

// applyOptions checks and records the options of req on t, whose billing
// mode is set.
func (s *regionDB) applyOptions(t *table, req *createTableRequest) error {
	if sse := req.SSESpecification; sse != nil && sse.Enabled != nil && *sse.Enabled {
		// API reference SSESpecification, Enabled: "If enabled (true),
		// server-side encryption type is set to KMS and an AWS managed key
		// is used"; KMSMasterKeyId: "only provide this parameter if the
		// key is different from the default DynamoDB key
		// alias/aws/dynamodb".
		if sse.SSEType != "" && sse.SSEType != "KMS" {
			return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'sSESpecification.sSEType' failed to satisfy constraint: Member must satisfy enum value set: [AES256, KMS]", sse.SSEType))
		}
		t.opts.sseKeyArn = s.kmsKeyArn(sse.KMSMasterKeyID)
	}
	if st := req.StreamSpecification; st != nil {
		if st.StreamEnabled {
			switch st.StreamViewType {
			case "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES":
			case "":
				return validation("One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true")
			default:
				return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]", st.StreamViewType))
			}
			spec := *st
			t.opts.stream = &spec
			t.opts.streamLabel = t.created.UTC().Format("2006-01-02T15:04:05.000")
		}
	}
	if t.billing == "PAY_PER_REQUEST" {
		t.opts.warmRead, t.opts.warmWrite = onDemandWarmRead, onDemandWarmWrite
	}
	if w := req.WarmThroughput; w != nil {
		if w.ReadUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.ReadUnitsPerSecond < onDemandWarmRead {
				return validation("One or more parameter values were invalid: Requested ReadUnitsPerSecond for WarmThroughput for table is lower than initial throughput for OnDemand")
			}
			t.opts.warmRead = *w.ReadUnitsPerSecond
		}
		if w.WriteUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.WriteUnitsPerSecond < onDemandWarmWrite {
				return validation("One or more parameter values were invalid: Requested WriteUnitsPerSecond for WarmThroughput for table is lower than initial throughput for OnDemand")
			}
			t.opts.warmWrite = *w.WriteUnitsPerSecond
		}
	}
	return nil
}

// kmsKeyArn is the ARN SSEDescription reports for a KMSMasterKeyId: an ARN
// as given, a key ID as the key's ARN in this account and region, and none
// as the account's AWS managed key for DynamoDB (aws/dynamodb), one per
// service.
func (s *regionDB) kmsKeyArn(id string) string {
	switch {
	case strings.HasPrefix(id, "arn:"):
		return id
	case id != "":
		return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.opts.Region, s.opts.AccountID, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.managedKey == "" {
		s.managedKey = newTableID()
	}
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.opts.Region, s.opts.AccountID, s.managedKey)
}

// describeOptions adds the options' members to a TableDescription.
func (t *table) describeOptions(d map[string]any, arn string) {
	if t.opts.sseKeyArn != "" {
		d["SSEDescription"] = map[string]any{"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": t.opts.sseKeyArn}
	}
	if t.opts.stream != nil {
		d["StreamSpecification"] = t.opts.stream
		d["LatestStreamLabel"] = t.opts.streamLabel
		d["LatestStreamArn"] = arn + "/stream/" + t.opts.streamLabel
	}
	if t.opts.warmRead > 0 || t.opts.warmWrite > 0 {
		w := map[string]any{"Status": "ACTIVE"}
		if t.opts.warmRead > 0 {
			w["ReadUnitsPerSecond"] = t.opts.warmRead
		}
		if t.opts.warmWrite > 0 {
			w["WriteUnitsPerSecond"] = t.opts.warmWrite
		}
		d["WarmThroughput"] = w
	}
}
