package config_test

import (
	"fmt"

	"github.com/vipd/vipd/internal/config"
)

func ExampleParse() {
	_, err := config.Parse([]byte(`cluster: orders-db
node: {name: a, advertise: 10.0.1.10:7946}
peers:
  - {name: b, adress: 10.0.2.10:7946}
resources:
  - overlay-route:
      cidr: 192.168.100.300/32
      route-tables: all
`), "vipd.yaml")
	fmt.Println(err)
	// Output:
	// vipd.yaml:4:15: peers[0].adress: unknown key (did you mean "address"?)
	// vipd.yaml:7:13: resources[0].overlay-route.cidr: "192.168.100.300/32" is not a CIDR
}

func ExampleConfig_Validate() {
	c := config.Default()
	c.Cluster = "orders-db"
	c.Node.Name = "a"
	c.Node.Advertise = "127.0.0.1:7001"
	c.Peers = []config.Peer{{Name: "b", Address: "127.0.0.1:7002"}}
	c.LocalAddress.Interface = config.InterfaceNone
	c.DeriveDefaults()
	fmt.Println(c.Validate())
	// Output:
	// peers: raft needs at least 3 voters to keep a quorum when one is lost, this cluster has 2; add a witness peer (a vipd with node.witness: true on a third host)
}
