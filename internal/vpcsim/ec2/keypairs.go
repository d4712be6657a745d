package ec2

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs and
// DeleteKeyPair, and RunInstances KeyName, which must name one
// (InvalidKeyPair.NotFound). Keys are real: CreateKeyPair makes an RSA
// 2048-bit or ED25519 key and answers its private key, and the
// fingerprints are computed as EC2 computes them (EC2 user guide,
// "Verify the fingerprint of your key pair"): for an RSA key pair AWS
// created, the SHA-1 digest of the DER-encoded PKCS#8 private key; for
// an imported RSA public key, the MD5 digest of the DER-encoded public
// key; for ED25519, the base64-encoded SHA-256 digest of the public key,
// as OpenSSH computes it.

func init() {
	for name, spec := range map[string]actionSpec{
		"CreateKeyPair":    {run: (*Account).createKeyPair, resources: one(keyPairARN)},
		"ImportKeyPair":    {run: (*Account).importKeyPair, resources: one(keyPairARN)},
		"DescribeKeyPairs": {run: (*Account).describeKeyPairs},
		"DeleteKeyPair":    {run: (*Account).deleteKeyPair, resources: one(keyPairARN)},
	} {
		actions[name] = spec
	}
}

func keyPairARN(st *state, r *request) string {
	return st.arn("key-pair", firstOr([]string{r.get("KeyName"), r.get("KeyPairId")}, "*"))
}

type keyPair struct {
	id, name    string
	keyType     string // rsa or ed25519
	fingerprint string
	publicKey   string // OpenSSH authorized_keys line
	created     time.Time
	tags        map[string]string
}

func (st *state) keyPairNamed(name string) *keyPair {
	for _, k := range st.keys {
		if k.name == name {
			return k
		}
	}
	return nil
}

func keyPairNotFound(name string) *apiError {
	return errorf(http.StatusBadRequest, "InvalidKeyPair.NotFound", "The key pair '%s' does not exist", name)
}

// checkKeyName is the name rule of CreateKeyPair and ImportKeyPair: "Up
// to 255 ASCII characters" (API reference CreateKeyPair, KeyName).
func checkKeyName(r *request) (string, error) {
	name, err := r.required("KeyName", "keyName")
	if err != nil {
		return "", err
	}
	if len(name) > 255 || strings.IndexFunc(name, func(c rune) bool { return c > 127 }) >= 0 {
		return "", invalidParam("Value (%s) for parameter keyName is invalid. Up to 255 ASCII characters.", name)
	}
	return name, nil
}

func (s *Account) addKeyPair(r *request, k *keyPair) error {
	return s.mutateIn(r, func(st *state) error {
		if st.keyPairNamed(k.name) != nil {
			return errorf(http.StatusBadRequest, "InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", k.name)
		}
		k.id, k.created, k.tags = s.ids.next("key"), time.Now().UTC(), tagSpecs(r, "key-pair")
		st.keys = append(st.keys, k)
		st.byID[k.id] = k
		return nil
	})
}

type createKeyPairResp struct {
	ec2Resp
	KeyPairID   string     `xml:"keyPairId"`
	KeyName     string     `xml:"keyName"`
	Fingerprint string     `xml:"keyFingerprint"`
	Material    string     `xml:"keyMaterial,omitempty"`
	Tags        *set[xTag] `xml:"tagSet,omitempty"`
}

// createKeyPair makes a key pair of KeyType rsa (the default) or ed25519
// and answers its private key in PEM: PKCS#1 for RSA, OpenSSH's format
// for ED25519 (KeyFormat pem, the default; vpcsim does not write PuTTY's
// ppk).
func (s *Account) createKeyPair(r *request) (any, error) {
	name, err := checkKeyName(r)
	if err != nil {
		return nil, err
	}
	if f := r.get("KeyFormat"); f != "" && f != "pem" {
		if f != "ppk" {
			return nil, invalidParam("Value (%s) for parameter keyFormat is invalid. Valid values: pem, ppk", f)
		}
		return nil, invalidParam("vpcsim models KeyFormat pem only")
	}
	k := &keyPair{name: name, keyType: r.get("KeyType")}
	var material string
	switch k.keyType {
	case "", "rsa":
		k.keyType = "rsa"
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("marshal rsa key: %w", err)
		}
		k.fingerprint = colonHex(sha1Sum(pkcs8))
		material = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))
		if k.publicKey, err = authorizedKey(&priv.PublicKey); err != nil {
			return nil, err
		}
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 key: %w", err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, fmt.Errorf("marshal ed25519 key: %w", err)
		}
		material = string(pem.EncodeToMemory(block))
		sp, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("ed25519 public key: %w", err)
		}
		k.fingerprint = sha256Fingerprint(sp)
		k.publicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	default:
		return nil, invalidParam("Value (%s) for parameter keyType is invalid. Valid values: rsa, ed25519", k.keyType)
	}
	if err := s.addKeyPair(r, k); err != nil {
		return nil, err
	}
	return &createKeyPairResp{KeyPairID: k.id, KeyName: k.name, Fingerprint: k.fingerprint, Material: material, Tags: optionalTags(k.tags)}, nil
}

func authorizedKey(pub any) (string, error) {
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("ssh public key: %w", err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), nil
}

func sha1Sum(b []byte) []byte { h := sha1.Sum(b); return h[:] }

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// sha256Fingerprint is the base64 SHA-256 digest of an SSH public key's
// wire form, as EC2 shows it for ED25519 keys.
func sha256Fingerprint(k ssh.PublicKey) string {
	h := sha256.Sum256(k.Marshal())
	return base64.StdEncoding.EncodeToString(h[:])
}

// importKeyPair imports an RSA or ED25519 public key in OpenSSH's format
// (PublicKeyMaterial, base64 on the wire), as EC2 accepts: "OpenSSH
// public key format", with RSA and ED25519 keys (EC2 user guide, "Create
// a key pair using a third-party tool and import the public key"); other
// material is InvalidKey.Format.
func (s *Account) importKeyPair(r *request) (any, error) {
	name, err := checkKeyName(r)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(r.get("PublicKeyMaterial"))
	if err != nil || len(raw) == 0 {
		return nil, missingParam("publicKeyMaterial")
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(raw)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	k := &keyPair{name: name, publicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		cp, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidKey.Format", "Key is not in valid OpenSSH public key format")
		}
		der, err := x509.MarshalPKIXPublicKey(cp.CryptoPublicKey())
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidKey.Format", "Key is not in valid OpenSSH public key format")
		}
		sum := md5.Sum(der)
		k.keyType, k.fingerprint = "rsa", colonHex(sum[:])
	case ssh.KeyAlgoED25519:
		k.keyType, k.fingerprint = "ed25519", sha256Fingerprint(pub)
	default:
		return nil, errorf(http.StatusBadRequest, "InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	if err := s.addKeyPair(r, k); err != nil {
		return nil, err
	}
	return &createKeyPairResp{KeyPairID: k.id, KeyName: k.name, Fingerprint: k.fingerprint, Tags: optionalTags(k.tags)}, nil
}

type xKeyPair struct {
	KeyPairID   string     `xml:"keyPairId"`
	KeyName     string     `xml:"keyName"`
	Fingerprint string     `xml:"keyFingerprint"`
	KeyType     string     `xml:"keyType"`
	CreateTime  string     `xml:"createTime"`
	PublicKey   string     `xml:"publicKey,omitempty"`
	Tags        *set[xTag] `xml:"tagSet,omitempty"`
}

type describeKeyPairsResp struct {
	ec2Resp
	Keys set[xKeyPair] `xml:"keySet"`
}

// describeKeyPairs lists key pairs by KeyName.N, KeyPairId.N and the
// filters key-pair-id, fingerprint, key-name and tags (API reference
// DescribeKeyPairs); a name or ID that does not exist is
// InvalidKeyPair.NotFound. IncludePublicKey adds the public key.
func (s *Account) describeKeyPairs(r *request) (any, error) {
	names, ids := r.list("KeyName"), r.list("KeyPairId")
	fs, err := r.filters("key-pair-id", "fingerprint", "key-name")
	if err != nil {
		return nil, err
	}
	withPublic, _, err := r.boolean("IncludePublicKey")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, n := range names {
		if st.keyPairNamed(n) == nil {
			return nil, keyPairNotFound(n)
		}
	}
	for _, id := range ids {
		if _, ok := st.byID[id].(*keyPair); !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidKeyPair.NotFound", "The key pair ID '%s' does not exist", id)
		}
	}
	out := &describeKeyPairsResp{Keys: set[xKeyPair]{Items: []xKeyPair{}}}
	for _, k := range st.keys {
		if len(names)+len(ids) > 0 && !slices.Contains(names, k.name) && !slices.Contains(ids, k.id) {
			continue
		}
		if !match(fs, k.tags, func(name string) []string {
			switch name {
			case "key-pair-id":
				return []string{k.id}
			case "fingerprint":
				return []string{k.fingerprint}
			case "key-name":
				return []string{k.name}
			}
			return nil
		}) {
			continue
		}
		x := xKeyPair{KeyPairID: k.id, KeyName: k.name, Fingerprint: k.fingerprint, KeyType: k.keyType,
			CreateTime: k.created.Format(awsTime), Tags: optionalTags(k.tags)}
		if withPublic {
			x.PublicKey = k.publicKey
		}
		out.Keys.Items = append(out.Keys.Items, x)
	}
	return out, nil
}

type deleteKeyPairResp struct {
	ec2Resp
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

// deleteKeyPair deletes a key pair by KeyName or KeyPairId. Deleting
// one that does not exist succeeds (the call is idempotent; API
// reference DeleteKeyPair answers only return and keyPairId); instances
// launched with the key keep its name.
func (s *Account) deleteKeyPair(r *request) (any, error) {
	name, id := r.get("KeyName"), r.get("KeyPairId")
	if name == "" && id == "" {
		return nil, missingParamMsg("The request must contain the parameter KeyName or KeyPairId")
	}
	out := &deleteKeyPairResp{Return: true}
	err := s.mutateIn(r, func(st *state) error {
		k := st.keyPairNamed(name)
		if id != "" {
			k, _ = st.byID[id].(*keyPair)
		}
		if k == nil {
			return nil
		}
		st.keys = slices.DeleteFunc(st.keys, func(x *keyPair) bool { return x == k })
		delete(st.byID, k.id)
		out.KeyPairID = k.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
