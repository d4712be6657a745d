package awsapi

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Identity is what vipd needs to know about the instance it runs on, read
// once from IMDSv2 at start.
type Identity struct {
	InstanceID string
	Region     string
	AZ         string
	MAC        string
	PrivateIP  netip.Addr
	// ENIID is the primary network interface (device 0), the target of
	// overlay routes.
	ENIID      string
	SubnetID   string
	VPCID      string
	SubnetCIDR netip.Prefix
	// SubnetIPv6CIDR and IPv6 are the primary interface's subnet's IPv6
	// block and its first IPv6 address; zero when the subnet or the
	// interface has none (IMDS then lists no such keys).
	SubnetIPv6CIDR netip.Prefix
	IPv6           netip.Addr
}

// metadataGetter is the IMDS call Identity needs.
type metadataGetter interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// ReadIdentity reads the instance identity from IMDS.
func ReadIdentity(ctx context.Context, c metadataGetter) (Identity, error) {
	get := func(path string) (string, error) {
		out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
		if err != nil {
			return "", fmt.Errorf("read instance metadata %s: %w", path, err)
		}
		defer out.Content.Close()
		b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
		if err != nil {
			return "", fmt.Errorf("read instance metadata %s: %w", path, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var id Identity
	var err error
	if id.InstanceID, err = get("instance-id"); err != nil {
		return id, err
	}
	if id.AZ, err = get("placement/availability-zone"); err != nil {
		return id, err
	}
	if id.Region, err = get("placement/region"); err != nil {
		return id, err
	}
	if id.MAC, err = get("mac"); err != nil {
		return id, err
	}
	ip, err := get("local-ipv4")
	if err != nil {
		return id, err
	}
	if id.PrivateIP, err = netip.ParseAddr(ip); err != nil {
		return id, fmt.Errorf("parse instance metadata local-ipv4 %q: %w", ip, err)
	}
	base := "network/interfaces/macs/" + id.MAC + "/"
	if id.ENIID, err = get(base + "interface-id"); err != nil {
		return id, err
	}
	if id.SubnetID, err = get(base + "subnet-id"); err != nil {
		return id, err
	}
	if id.VPCID, err = get(base + "vpc-id"); err != nil {
		return id, err
	}
	cidr, err := get(base + "subnet-ipv4-cidr-block")
	if err != nil {
		return id, err
	}
	if id.SubnetCIDR, err = netip.ParsePrefix(cidr); err != nil {
		return id, fmt.Errorf("parse instance metadata subnet-ipv4-cidr-block %q: %w", cidr, err)
	}
	// The IPv6 keys exist only where there is IPv6: the interface's
	// listing says whether to read them.
	keys, err := get(base)
	if err != nil {
		return id, err
	}
	for _, k := range strings.Fields(keys) {
		switch k {
		case "subnet-ipv6-cidr-blocks":
			v, err := get(base + k)
			if err != nil {
				return id, err
			}
			if id.SubnetIPv6CIDR, err = netip.ParsePrefix(firstLine(v)); err != nil {
				return id, fmt.Errorf("parse instance metadata %s %q: %w", k, v, err)
			}
		case "ipv6s":
			v, err := get(base + k)
			if err != nil {
				return id, err
			}
			if id.IPv6, err = netip.ParseAddr(firstLine(v)); err != nil {
				return id, fmt.Errorf("parse instance metadata %s %q: %w", k, v, err)
			}
		}
	}
	if dev, err := get(base + "device-number"); err == nil {
		if n, perr := strconv.Atoi(dev); perr == nil && n != 0 {
			return id, fmt.Errorf("instance metadata mac %s is device %d, want the primary interface (0)", id.MAC, n)
		}
	}
	return id, nil
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(first)
}
