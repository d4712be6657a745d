// Package ec2 is vpcsim's simulated EC2: one account's state (VPCs,
// subnets, route tables, internet gateways, instances, network interfaces,
// addresses, volumes, tags, roles), the lock that guards it, the
// asynchronous transitions that follow some calls, and the Query API
// handlers, one file per noun. Account serves the calls that the faults
// middleware passes on (Service describes the protocol to it) and answers
// the fabric's data-plane question (Resolve).
//
// What it models, simplifies and omits is described in package vpcsim's
// documentation. Only package vpcsim imports ec2; everyone else uses its
// types through vpcsim's aliases.
package ec2
