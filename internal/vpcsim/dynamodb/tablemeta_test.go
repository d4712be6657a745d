package dynamodb_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func startClock(t *testing.T) (*awsddb.Client, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return clientOf(serve(t, dynamodb.Options{Now: clk.Now}), ""), clk
}

const leasesArn = "arn:aws:dynamodb:us-east-1:123456789012:table/leases"

// API reference TagResource, UntagResource, ListTagsOfResource; tags
// given to CreateTable are the table's from the start.
func TestTags(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName:            aws.String("leases"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
		Tags:                 []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tags []types.Tag
	for i := range 11 {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	tags = append(tags, types.Tag{Key: aws.String("env"), Value: aws.String("prod")})
	if _, err := c.TagResource(ctx, &awsddb.TagResourceInput{ResourceArn: aws.String(leasesArn), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &awsddb.UntagResourceInput{ResourceArn: aws.String(leasesArn), TagKeys: []string{"k03"}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var token *string
	for pages := 0; ; pages++ {
		if pages == 5 {
			t.Fatal("ListTagsOfResource still paging after 5 pages")
		}
		out, err := c.ListTagsOfResource(ctx, &awsddb.ListTagsOfResourceInput{ResourceArn: aws.String(leasesArn), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range out.Tags {
			got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(got) != 11 || got["env"] != "prod" || got["k03"] != "" {
		t.Errorf("tags %v, want 11 with env=prod and no k03", got)
	}
	// Tagging restrictions: "The aws: prefix is reserved for AWS use".
	_, err = c.TagResource(ctx, &awsddb.TagResourceInput{ResourceArn: aws.String(leasesArn), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("aws: key: %s, want ValidationException", code)
	}
	_, err = c.ListTagsOfResource(ctx, &awsddb.ListTagsOfResourceInput{ResourceArn: aws.String(leasesArn + "x")})
	if code, _ := apiCode(t, err); code != "ResourceNotFoundException" {
		t.Errorf("unknown table: %s, want ResourceNotFoundException", code)
	}
}

// API reference UpdateTimeToLive: enabling twice is refused ("TimeToLive
// is already enabled"), and "Any additional UpdateTimeToLive calls for the
// same table during this one hour duration result in a
// ValidationException"; DescribeTimeToLive reports the attribute.
func TestTimeToLive(t *testing.T) {
	c, clk := startClock(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	set := func(on bool) error {
		_, err := c.UpdateTimeToLive(ctx, &awsddb.UpdateTimeToLiveInput{TableName: aws.String("leases"),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{Enabled: aws.Bool(on), AttributeName: aws.String("expires")}})
		return err
	}
	status := func() (types.TimeToLiveStatus, string) {
		out, err := c.DescribeTimeToLive(ctx, &awsddb.DescribeTimeToLiveInput{TableName: aws.String("leases")})
		if err != nil {
			t.Fatal(err)
		}
		return out.TimeToLiveDescription.TimeToLiveStatus, aws.ToString(out.TimeToLiveDescription.AttributeName)
	}
	if st, _ := status(); st != types.TimeToLiveStatusDisabled {
		t.Errorf("new table TTL %s, want DISABLED", st)
	}
	if err := set(false); err == nil {
		t.Error("disabling a disabled TTL succeeded")
	}
	if err := set(true); err != nil {
		t.Fatal(err)
	}
	if st, attr := status(); st != types.TimeToLiveStatusEnabled || attr != "expires" {
		t.Errorf("TTL %s on %q, want ENABLED on expires", st, attr)
	}
	if _, msg := apiCode(t, set(true)); msg != "TimeToLive is already enabled" {
		t.Errorf("enabling twice: %q", msg)
	}
	clk.advance(59 * time.Minute)
	if code, _ := apiCode(t, set(false)); code != "ValidationException" {
		t.Errorf("disabling within the hour: %s, want ValidationException", code)
	}
	clk.advance(time.Minute)
	if err := set(false); err != nil {
		t.Errorf("disabling after the hour: %v", err)
	}
}

// API reference CreateBackup, DescribeBackup, ListBackups, DeleteBackup and
// RestoreTableFromBackup: a backup keeps the table as it was; the restored
// table is a separate table with a RestoreSummary.
func TestBackupAndRestore(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a")})
	if _, err := c.TagResource(ctx, &awsddb.TagResourceInput{ResourceArn: aws.String(leasesArn), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateBackup(ctx, &awsddb.CreateBackupInput{TableName: aws.String("leases"), BackupName: aws.String("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(b.BackupDetails.BackupArn)
	if b.BackupDetails.BackupStatus != types.BackupStatusAvailable || b.BackupDetails.BackupType != types.BackupTypeUser {
		t.Errorf("backup %+v, want AVAILABLE USER", b.BackupDetails)
	}
	putLease(t, c, av{"id": s("b")})
	d, err := c.DescribeBackup(ctx, &awsddb.DescribeBackupInput{BackupArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt64(d.BackupDescription.SourceTableDetails.ItemCount); n != 1 {
		t.Errorf("backup's SourceTableDetails ItemCount %d, want 1", n)
	}
	r, err := c.RestoreTableFromBackup(ctx, &awsddb.RestoreTableFromBackupInput{BackupArn: aws.String(arn), TargetTableName: aws.String("restored")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(r.TableDescription.RestoreSummary.SourceBackupArn) != arn || aws.ToInt64(r.TableDescription.ItemCount) != 1 {
		t.Errorf("restored %+v", r.TableDescription)
	}
	// Restoring: "You must manually set up the following on the restored
	// table: ... Tags".
	tags, err := c.ListTagsOfResource(ctx, &awsddb.ListTagsOfResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/restored")})
	if err != nil || len(tags.Tags) != 0 {
		t.Errorf("restored table's tags %v, %v; want none", tags, err)
	}
	if _, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("restored"), Item: av{"id": s("c")}}); err != nil {
		t.Fatal(err)
	}
	if getLease(t, c, "c") != nil {
		t.Error("an item put in the restored table appeared in its source")
	}
	_, err = c.RestoreTableFromBackup(ctx, &awsddb.RestoreTableFromBackupInput{BackupArn: aws.String(arn), TargetTableName: aws.String("leases")})
	if code, _ := apiCode(t, err); code != "TableAlreadyExistsException" {
		t.Errorf("restore over a table: %s, want TableAlreadyExistsException", code)
	}
	l, err := c.ListBackups(ctx, &awsddb.ListBackupsInput{TableName: aws.String("leases")})
	if err != nil || len(l.BackupSummaries) != 1 {
		t.Fatalf("ListBackups: %v, %v", l, err)
	}
	del, err := c.DeleteBackup(ctx, &awsddb.DeleteBackupInput{BackupArn: aws.String(arn)})
	if err != nil || del.BackupDescription.BackupDetails.BackupStatus != types.BackupStatusDeleted {
		t.Fatalf("DeleteBackup: %v, %v", del, err)
	}
	_, err = c.DescribeBackup(ctx, &awsddb.DescribeBackupInput{BackupArn: aws.String(arn)})
	if code, msg := apiCode(t, err); code != "BackupNotFoundException" || msg != "Backup not found: "+arn {
		t.Errorf("deleted backup: %s %q", code, msg)
	}
	_, err = c.CreateBackup(ctx, &awsddb.CreateBackupInput{TableName: aws.String("nope"), BackupName: aws.String("x1x")})
	if code, msg := apiCode(t, err); code != "TableNotFoundException" || msg != "Table not found: nope" {
		t.Errorf("backup of a missing table: %s %q", code, msg)
	}
}

// API reference UpdateContinuousBackups and RestoreTableToPointInTime:
// point-in-time recovery is off until enabled, RecoveryPeriodInDays
// defaults to 35, LatestRestorableDateTime "is typically 5 minutes
// before the current time", and a restore needs it enabled.
func TestPointInTimeRecovery(t *testing.T) {
	c, clk := startClock(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a")})
	d, err := c.DescribeContinuousBackups(ctx, &awsddb.DescribeContinuousBackupsInput{TableName: aws.String("leases")})
	if err != nil {
		t.Fatal(err)
	}
	if d.ContinuousBackupsDescription.ContinuousBackupsStatus != types.ContinuousBackupsStatusEnabled ||
		d.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusDisabled {
		t.Errorf("new table %+v", d.ContinuousBackupsDescription)
	}
	restore := func() error {
		_, err := c.RestoreTableToPointInTime(ctx, &awsddb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("leases"), TargetTableName: aws.String("copy"), UseLatestRestorableTime: aws.Bool(true)})
		return err
	}
	if code, _ := apiCode(t, restore()); code != "PointInTimeRecoveryUnavailableException" {
		t.Errorf("restore without PITR: %s", code)
	}
	enabledAt := clk.Now()
	u, err := c.UpdateContinuousBackups(ctx, &awsddb.UpdateContinuousBackupsInput{TableName: aws.String("leases"),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	p := u.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	if p.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled || aws.ToInt32(p.RecoveryPeriodInDays) != 35 || !p.EarliestRestorableDateTime.Equal(enabledAt) {
		t.Errorf("enabled %+v", p)
	}
	clk.advance(time.Hour)
	d, err = c.DescribeContinuousBackups(ctx, &awsddb.DescribeContinuousBackupsInput{TableName: aws.String("leases")})
	if err != nil {
		t.Fatal(err)
	}
	if got := *d.ContinuousBackupsDescription.PointInTimeRecoveryDescription.LatestRestorableDateTime; !got.Equal(clk.Now().Add(-5 * time.Minute)) {
		t.Errorf("LatestRestorableDateTime %v, want 5 minutes before %v", got, clk.Now())
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeContinuousBackups(ctx, &awsddb.DescribeContinuousBackupsInput{TableName: aws.String("nope")})
	if code, msg := apiCode(t, err); code != "TableNotFoundException" || msg != "Table not found: nope" {
		t.Errorf("missing table: %s %q", code, msg)
	}
}

// Developer Guide, "Quotas": 40,000 read and write units per table, 80,000
// per account; DescribeEndpoints names the region's endpoint.
func TestLimitsAndEndpoints(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	l, err := c.DescribeLimits(ctx, &awsddb.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := []int64{aws.ToInt64(l.AccountMaxReadCapacityUnits), aws.ToInt64(l.AccountMaxWriteCapacityUnits), aws.ToInt64(l.TableMaxReadCapacityUnits), aws.ToInt64(l.TableMaxWriteCapacityUnits)}
	if diff := cmp.Diff([]int64{80000, 80000, 40000, 40000}, got); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	e, err := c.DescribeEndpoints(ctx, &awsddb.DescribeEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Endpoints) != 1 || aws.ToString(e.Endpoints[0].Address) != "dynamodb.us-east-1.amazonaws.com" {
		t.Errorf("endpoints %+v", e.Endpoints)
	}
}
