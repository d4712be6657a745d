package dynamodb

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// On-demand backups (CreateBackup, DescribeBackup, ListBackups,
// DeleteBackup, RestoreTableFromBackup) and point-in-time recovery
// (DescribeContinuousBackups, UpdateContinuousBackups,
// RestoreTableToPointInTime at the latest restorable time). A backup is a
// copy of the table taken under s.mu, so it is AVAILABLE at once and
// restores are complete at once, as tables are ACTIVE at once.

// backup is one on-demand backup: a copy of its table as it was.
type backup struct {
	arn     string
	name    string
	created time.Time
	src     *table
	srcArn  string
	size    int
}

// pitr is a table's point-in-time recovery setting.
type pitr struct {
	enabled bool
	since   time.Time
	days    int
}

// pitrDefaultDays is RecoveryPeriodInDays when not given (API reference
// PointInTimeRecoverySpecification, RecoveryPeriodInDays: "If no value is
// provided, the value will default to 35"; between 1 and 35).
const pitrDefaultDays = 35

// pitrLag is how far LatestRestorableDateTime trails the present (API
// reference PointInTimeRecoveryDescription: "LatestRestorableDateTime is
// typically 5 minutes before the current time").
const pitrLag = 5 * time.Minute

func (s *regionDB) tableArn(name string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", s.opts.Region, s.opts.AccountID, name)
}

// copyTable returns t's schema, options and a copy of its items under
// another name and ID, created at now.
func copyTable(t *table, name string, now time.Time) *table {
	c := *t
	c.name, c.id, c.created = name, newTableID(), now
	c.items = make(map[string]item, len(t.items))
	for k, it := range t.items {
		c.items[k] = cloneItem(it)
	}
	c.indexes = slices.Clone(t.indexes)
	c.attrDefs = slices.Clone(t.attrDefs)
	c.extra = tableExtra{}
	return &c
}

func tableNotFound(name string) *apiError {
	return &apiError{"TableNotFoundException", "Table not found: " + name}
}

func backupNotFound(arn string) *apiError {
	return &apiError{"BackupNotFoundException", "Backup not found: " + arn}
}

type createBackupRequest struct {
	TableName  string `json:"TableName"`
	BackupName string `json:"BackupName"`
}

// newBackupSuffix is the part of a backup ARN after /backup/: the creation
// time in milliseconds, 17 digits, and 8 hex digits (AWS CLI reference,
// restore-table-from-backup: .../table/MusicCollection/backup/01576616366715-b4e58d3a).
func newBackupSuffix(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%017d-%x", now.UnixMilli(), b)
}

func (s *regionDB) createBackup(req *createBackupRequest) (any, error) {
	if n := req.BackupName; len(n) < 3 || len(n) > 255 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
		// API reference CreateBackup, BackupName: length 3 to 255, pattern
		// [a-zA-Z0-9_.-]+.
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'backupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", n))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, tableNotFound(req.TableName)
	}
	now := s.opts.Now()
	b := &backup{
		name:    req.BackupName,
		created: now,
		src:     copyTable(t, t.name, t.created),
		srcArn:  s.tableArn(t.name),
	}
	b.src.id = t.id
	b.arn = b.srcArn + "/backup/" + newBackupSuffix(now)
	for _, it := range t.items {
		b.size += itemSize(it)
	}
	if s.backups == nil {
		s.backups = map[string]*backup{}
	}
	s.backups[b.arn] = b
	return map[string]any{"BackupDetails": b.details("AVAILABLE")}, nil
}

func (b *backup) details(status string) map[string]any {
	return map[string]any{
		"BackupArn":              b.arn,
		"BackupName":             b.name,
		"BackupSizeBytes":        b.size,
		"BackupStatus":           status,
		"BackupType":             "USER",
		"BackupCreationDateTime": epoch(b.created),
	}
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// description is a BackupDescription (API reference DescribeBackup).
func (b *backup) description(status string) map[string]any {
	t := b.src
	ks := []keySchemaElem{{t.hashKey.name, "HASH"}}
	if t.rangeKey != nil {
		ks = append(ks, keySchemaElem{t.rangeKey.name, "RANGE"})
	}
	src := map[string]any{
		"TableName":             t.name,
		"TableId":               t.id,
		"TableArn":              b.srcArn,
		"TableSizeBytes":        b.size,
		"KeySchema":             ks,
		"TableCreationDateTime": epoch(t.created),
		"ProvisionedThroughput": map[string]any{"ReadCapacityUnits": t.rcu, "WriteCapacityUnits": t.wcu},
		"ItemCount":             len(t.items),
		"BillingMode":           t.billing,
	}
	return map[string]any{"BackupDetails": b.details(status), "SourceTableDetails": src, "SourceTableFeatureDetails": map[string]any{}}
}

type backupArnRequest struct {
	BackupArn string `json:"BackupArn"`
}

func (s *regionDB) describeBackup(req *backupArnRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.backups[req.BackupArn]
	if !ok {
		return nil, backupNotFound(req.BackupArn)
	}
	return map[string]any{"BackupDescription": b.description("AVAILABLE")}, nil
}

func (s *regionDB) deleteBackup(req *backupArnRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.backups[req.BackupArn]
	if !ok {
		return nil, backupNotFound(req.BackupArn)
	}
	delete(s.backups, b.arn)
	// API reference DeleteBackup: the response's BackupDescription, whose
	// BackupStatus is DELETED once gone.
	return map[string]any{"BackupDescription": b.description("DELETED")}, nil
}

type listBackupsRequest struct {
	TableName               string   `json:"TableName"`
	BackupType              string   `json:"BackupType"`
	Limit                   int      `json:"Limit"`
	ExclusiveStartBackupArn string   `json:"ExclusiveStartBackupArn"`
	TimeRangeLowerBound     *float64 `json:"TimeRangeLowerBound"`
	TimeRangeUpperBound     *float64 `json:"TimeRangeUpperBound"`
}

func (s *regionDB) listBackups(req *listBackupsRequest) (any, error) {
	switch req.BackupType {
	case "", "USER", "ALL":
	case "SYSTEM", "AWS_BACKUP":
		// vpcsim makes only on-demand (USER) backups.
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'backupType' failed to satisfy constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]", req.BackupType))
	}
	limit := req.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.resolveTableName(req.TableName)
	var list []*backup
	for _, b := range s.backups {
		switch {
		case req.TableName != "" && b.src.name != name:
		case req.BackupType == "SYSTEM" || req.BackupType == "AWS_BACKUP":
		case req.TimeRangeLowerBound != nil && epoch(b.created) < *req.TimeRangeLowerBound:
		case req.TimeRangeUpperBound != nil && epoch(b.created) >= *req.TimeRangeUpperBound:
		default:
			list = append(list, b)
		}
	}
	slices.SortFunc(list, func(a, b *backup) int { return strings.Compare(a.arn, b.arn) })
	out := map[string]any{}
	summaries := []map[string]any{}
	for _, b := range list {
		if req.ExclusiveStartBackupArn != "" && b.arn <= req.ExclusiveStartBackupArn {
			continue
		}
		if len(summaries) == limit {
			out["LastEvaluatedBackupArn"] = summaries[len(summaries)-1]["BackupArn"]
			break
		}
		d := b.details("AVAILABLE")
		d["TableName"], d["TableId"], d["TableArn"] = b.src.name, b.src.id, b.srcArn
		summaries = append(summaries, d)
	}
	out["BackupSummaries"] = summaries
	return out, nil
}

type restoreFromBackupRequest struct {
	TargetTableName     string `json:"TargetTableName"`
	BackupArn           string `json:"BackupArn"`
	BillingModeOverride string `json:"BillingModeOverride"`
}

// restoreLocked creates name from src as restored, with RestoreSummary
// summary.
func (s *regionDB) restoreLocked(src *table, name string, summary map[string]any) (any, error) {
	if _, ok := s.tables[name]; ok {
		return nil, &apiError{"TableAlreadyExistsException", "Table already exists: " + name}
	}
	t := copyTable(src, name, s.opts.Now())
	// Developer Guide, "Restoring a DynamoDB table from a backup": "You
	// must manually set up the following on the restored table: ... Tags,
	// Stream settings, Time to Live (TTL) settings, Point in time recovery
	// settings" (copyTable leaves out the others).
	t.opts.stream, t.opts.streamLabel = nil, ""
	t.extra.restore = summary
	s.tables[name] = t
	return map[string]any{"TableDescription": s.describeLocked(t, "ACTIVE")}, nil
}

func (s *regionDB) restoreTableFromBackup(req *restoreFromBackupRequest) (any, error) {
	if err := validTableName(req.TargetTableName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.backups[req.BackupArn]
	if !ok {
		return nil, backupNotFound(req.BackupArn)
	}
	src := b.src
	if m := req.BillingModeOverride; m != "" {
		if m != "PROVISIONED" && m != "PAY_PER_REQUEST" {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingModeOverride' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", m))
		}
		c := *src
		c.billing = m
		src = &c
	}
	return s.restoreLocked(src, req.TargetTableName, map[string]any{
		"SourceBackupArn":   b.arn,
		"SourceTableArn":    b.srcArn,
		"RestoreDateTime":   epoch(b.created),
		"RestoreInProgress": false,
	})
}

type restoreToPointInTimeRequest struct {
	SourceTableArn          string   `json:"SourceTableArn"`
	SourceTableName         string   `json:"SourceTableName"`
	TargetTableName         string   `json:"TargetTableName"`
	UseLatestRestorableTime bool     `json:"UseLatestRestorableTime"`
	RestoreDateTime         *float64 `json:"RestoreDateTime"`
}

func (s *regionDB) restoreTableToPointInTime(req *restoreToPointInTimeRequest) (any, error) {
	if err := validTableName(req.TargetTableName); err != nil {
		return nil, err
	}
	if req.RestoreDateTime != nil && !req.UseLatestRestorableTime {
		return nil, validation("vpcsim models RestoreTableToPointInTime with UseLatestRestorableTime only; it keeps no item history")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	srcName := req.SourceTableName
	if srcName == "" {
		srcName = req.SourceTableArn
	}
	t, ok := s.tables[s.resolveTableName(srcName)]
	if !ok {
		return nil, &apiError{"SourceTableNotFoundException", "Source table not found: " + srcName}
	}
	if _, ok := s.tables[req.TargetTableName]; ok {
		return nil, &apiError{"TableAlreadyExistsException", "Table already exists: " + req.TargetTableName}
	}
	if !t.extra.pitr.enabled {
		// API reference RestoreTableToPointInTime, Errors:
		// PointInTimeRecoveryUnavailableException, "Point in time
		// recovery has not yet been enabled for this source table".
		return nil, &apiError{"PointInTimeRecoveryUnavailableException", "Point in time recovery is not enabled for table '" + t.name + "'"}
	}
	// The table as it is now: vpcsim keeps no item history.
	return s.restoreLocked(t, req.TargetTableName, map[string]any{
		"SourceTableArn":    s.tableArn(t.name),
		"RestoreDateTime":   epoch(s.opts.Now()),
		"RestoreInProgress": false,
	})
}

// continuousBackups is a ContinuousBackupsDescription: on-demand backups
// are always ENABLED (API reference ContinuousBackupsDescription,
// ContinuousBackupsStatus: "ContinuousBackupsStatus can be one of the
// following states: ENABLED, DISABLED"; a table can always be backed up on
// demand).
func (s *regionDB) continuousBackups(t *table) map[string]any {
	p := map[string]any{"PointInTimeRecoveryStatus": "DISABLED"}
	if t.extra.pitr.enabled {
		latest := s.opts.Now().Add(-pitrLag)
		if latest.Before(t.extra.pitr.since) {
			latest = t.extra.pitr.since
		}
		p = map[string]any{
			"PointInTimeRecoveryStatus":  "ENABLED",
			"EarliestRestorableDateTime": epoch(t.extra.pitr.since),
			"LatestRestorableDateTime":   epoch(latest),
			"RecoveryPeriodInDays":       t.extra.pitr.days,
		}
	}
	return map[string]any{"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": p}
}

func (s *regionDB) describeContinuousBackups(req *tableNameRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, tableNotFound(req.TableName)
	}
	return map[string]any{"ContinuousBackupsDescription": s.continuousBackups(t)}, nil
}

type updateContinuousBackupsRequest struct {
	TableName                        string `json:"TableName"`
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled *bool `json:"PointInTimeRecoveryEnabled"`
		RecoveryPeriodInDays       *int  `json:"RecoveryPeriodInDays"`
	} `json:"PointInTimeRecoverySpecification"`
}

func (s *regionDB) updateContinuousBackups(req *updateContinuousBackupsRequest) (any, error) {
	spec := req.PointInTimeRecoverySpecification
	if spec == nil || spec.PointInTimeRecoveryEnabled == nil {
		return nil, validation("1 validation error detected: Value null at 'pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled' failed to satisfy constraint: Member must not be null")
	}
	days := pitrDefaultDays
	if spec.RecoveryPeriodInDays != nil {
		days = *spec.RecoveryPeriodInDays
		if days < 1 || days > 35 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value between 1 and 35", days))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, tableNotFound(req.TableName)
	}
	switch {
	case !*spec.PointInTimeRecoveryEnabled:
		t.extra.pitr = pitr{}
	case t.extra.pitr.enabled:
		// Enabling it again keeps the history it has.
		t.extra.pitr.days = days
	default:
		t.extra.pitr = pitr{enabled: true, since: s.opts.Now(), days: days}
	}
	return map[string]any{"ContinuousBackupsDescription": s.continuousBackups(t)}, nil
}

// describeExtra adds what the table keeps beside its schema to a
// TableDescription: the RestoreSummary of a restored table.
func (t *table) describeExtra(d map[string]any) {
	if t.extra.restore != nil {
		d["RestoreSummary"] = maps.Clone(t.extra.restore)
	}
}
