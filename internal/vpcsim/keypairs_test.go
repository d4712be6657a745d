package vpcsim_test

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"
)

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// TestKeyPairs follows CreateKeyPair, ImportKeyPair, DescribeKeyPairs and
// DeleteKeyPair in the EC2 API reference and the fingerprints of the EC2
// user guide, "Verify the fingerprint of your key pair"
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-keys.html):
// an RSA key pair EC2 created has the SHA-1 digest of its DER-encoded
// PKCS#8 private key, an imported RSA key the MD5 digest of its
// DER-encoded public key, an ED25519 key the base64 SHA-256 digest. A
// name in use is InvalidKeyPair.Duplicate; RunInstances KeyName must name
// a key pair (InvalidKeyPair.NotFound).
func TestKeyPairs(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	created, err := e.ec2.CreateKeyPair(ctx, &awsec2.CreateKeyPairInput{KeyName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(aws.ToString(created.KeyMaterial)))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("key material %q: want a PEM RSA private key", aws.ToString(created.KeyMaterial))
	}
	priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha1.Sum(pkcs8); aws.ToString(created.KeyFingerprint) != colonHex(sum[:]) {
		t.Errorf("fingerprint %s, want SHA-1 of the PKCS#8 key %s", aws.ToString(created.KeyFingerprint), colonHex(sum[:]))
	}
	if _, err := e.ec2.CreateKeyPair(ctx, &awsec2.CreateKeyPairInput{KeyName: aws.String("ops")}); code(t, err) != "InvalidKeyPair.Duplicate" {
		t.Errorf("second ops: %v, want InvalidKeyPair.Duplicate", err)
	}

	ed, err := e.ec2.CreateKeyPair(ctx, &awsec2.CreateKeyPairInput{KeyName: aws.String("ed"), KeyType: types.KeyTypeEd25519})
	if err != nil {
		t.Fatal(err)
	}
	edKey, err := ssh.ParseRawPrivateKey([]byte(aws.ToString(ed.KeyMaterial)))
	if err != nil {
		t.Fatalf("ed25519 key material: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(signer.PublicKey().Marshal()); aws.ToString(ed.KeyFingerprint) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("ed25519 fingerprint %s, want base64 SHA-256 of the public key", aws.ToString(ed.KeyFingerprint))
	}

	local, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&local.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	imported, err := e.ec2.ImportKeyPair(ctx, &awsec2.ImportKeyPairInput{KeyName: aws.String("laptop"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(pub)})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&local.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if sum := md5.Sum(der); aws.ToString(imported.KeyFingerprint) != colonHex(sum[:]) {
		t.Errorf("imported fingerprint %s, want MD5 of the DER public key %s", aws.ToString(imported.KeyFingerprint), colonHex(sum[:]))
	}
	if _, err := e.ec2.ImportKeyPair(ctx, &awsec2.ImportKeyPairInput{KeyName: aws.String("junk"), PublicKeyMaterial: []byte("not a key")}); code(t, err) != "InvalidKey.Format" {
		t.Errorf("import junk: %v, want InvalidKey.Format", err)
	}

	desc, err := e.ec2.DescribeKeyPairs(ctx, &awsec2.DescribeKeyPairsInput{KeyNames: []string{"laptop"}, IncludePublicKey: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.KeyPairs) != 1 || desc.KeyPairs[0].KeyType != types.KeyTypeRsa || aws.ToString(desc.KeyPairs[0].KeyPairId) != aws.ToString(imported.KeyPairId) ||
		!strings.HasPrefix(aws.ToString(desc.KeyPairs[0].PublicKey), "ssh-rsa ") {
		t.Errorf("DescribeKeyPairs laptop = %+v", desc.KeyPairs)
	}
	all, err := e.ec2.DescribeKeyPairs(ctx, &awsec2.DescribeKeyPairsInput{Filters: []types.Filter{{Name: aws.String("key-name"), Values: []string{"o*", "ed"}}}})
	if err != nil || len(all.KeyPairs) != 2 {
		t.Errorf("key-name o*,ed: %+v, %v; want ops and ed", all, err)
	}
	if _, err := e.ec2.DescribeKeyPairs(ctx, &awsec2.DescribeKeyPairsInput{KeyNames: []string{"nobody"}}); code(t, err) != "InvalidKeyPair.NotFound" {
		t.Errorf("describe nobody: %v, want InvalidKeyPair.NotFound", err)
	}

	launch := func(key string) (*awsec2.RunInstancesOutput, error) {
		return e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(subnetA), KeyName: aws.String(key)})
	}
	if _, err := launch("nobody"); code(t, err) != "InvalidKeyPair.NotFound" {
		t.Errorf("launch with key nobody: %v, want InvalidKeyPair.NotFound", err)
	}
	run, err := launch("ops")
	if err != nil || aws.ToString(run.Instances[0].KeyName) != "ops" {
		t.Fatalf("launch with ops: %+v, %v", run, err)
	}

	for range 2 { // deleting what is gone succeeds
		if _, err := e.ec2.DeleteKeyPair(ctx, &awsec2.DeleteKeyPairInput{KeyName: aws.String("ops")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := launch("ops"); code(t, err) != "InvalidKeyPair.NotFound" {
		t.Errorf("launch with deleted key: %v, want InvalidKeyPair.NotFound", err)
	}
	got, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}})
	if err != nil {
		t.Fatal(err)
	}
	if k := aws.ToString(got.Reservations[0].Instances[0].KeyName); k != "ops" {
		t.Errorf("instance launched with ops has KeyName %q after the key's deletion", k)
	}
}

// TestRebootInstances follows RebootInstances in the EC2 API reference:
// the instance stays running, "Requests to reboot terminated instances
// are ignored", and a stopped instance cannot be rebooted.
func TestRebootInstances(t *testing.T) {
	e := slowEnv(t)
	ctx := t.Context()
	if _, err := e.ec2.RebootInstances(ctx, &awsec2.RebootInstancesInput{InstanceIds: []string{nodeA}}); err != nil {
		t.Fatal(err)
	}
	if s := e.instanceState(t, nodeA); s != types.InstanceStateNameRunning {
		t.Errorf("rebooted instance is %s, want running", s)
	}
	if _, err := e.ec2.StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: []string{nodeB}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.RebootInstances(ctx, &awsec2.RebootInstancesInput{InstanceIds: []string{nodeB}}); code(t, err) != "IncorrectInstanceState" {
		t.Errorf("reboot a stopping instance: %v, want IncorrectInstanceState", err)
	}
	if _, err := e.ec2.RebootInstances(ctx, &awsec2.RebootInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}}); code(t, err) != "InvalidInstanceID.NotFound" {
		t.Errorf("reboot unknown instance: %v, want InvalidInstanceID.NotFound", err)
	}
}
