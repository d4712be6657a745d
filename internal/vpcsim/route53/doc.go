// Package route53 simulates Amazon Route 53 for vpcsim: the REST-XML API
// (version 2013-04-01) that the AWS SDK for Go v2 and the AWS CLI speak, and a
// DNS server (UDP and TCP, github.com/miekg/dns) that answers from the hosted
// zones the way a VPC resolver would. It exists so that vipd's dnsrecord
// resource and the usual Route 53 failover recipe (UPSERT an A record, poll
// get-change until INSYNC, resolve the name) run unchanged against a
// simulator. Only vpcsim, its tests and vpcsim-based tests import it.
//
// # Models
//
//   - CreateHostedZone (public, or private with one VPC association),
//     DeleteHostedZone (HostedZoneNotEmpty while it holds records beyond
//     the apex SOA and NS), GetHostedZone, GetHostedZoneCount,
//     UpdateHostedZoneComment, ListHostedZones (marker paging; Marker
//     echoed only when given), ListHostedZonesByName (DNS name / hosted
//     zone ID paging, names ordered with labels reversed as AWS does).
//   - AssociateVPCWithHostedZone and DisassociateVPCFromHostedZone for
//     private zones (PublicZoneVPCAssociation, LastVPCAssociation,
//     VPCAssociationNotFound, ConflictingDomainExists), and
//     ListHostedZonesByVPC.
//   - ChangeResourceRecordSets with CREATE, UPSERT and DELETE. A batch is
//     validated as a whole against the zone and applied all or nothing; every
//     problem is reported in one InvalidChangeBatch error with AWS's message
//     texts (duplicate CREATE, DELETE of a missing record or with other values,
//     names outside the zone, CNAME conflicts and CNAME at the apex, removing
//     the apex SOA or NS, bad A/AAAA/TXT/CNAME values, unescaped whitespace
//     in names, more than 1,000 records with UPSERTs counting twice). An
//     action or type outside the schema's enumeration is InvalidInput
//     "Invalid XML ; cvc-enumeration-valid: ...".
//   - ListResourceRecordSets in AWS's order (name with labels reversed, then
//     type) with StartRecordName/StartRecordType paging.
//   - GetChange: a change is PENDING and becomes INSYNC once
//     Options.PropagationDelay has passed. AWS documents that changes
//     "generally propagate to all Route 53 name servers within 60 seconds"
//     (AWSPropagationDelay); a published DNS failover write-up observed
//     about 20 s. The API reflects a
//     change at once, as AWS's does; the DNS server only once it is INSYNC.
//   - Health checks (issue 23): Create (idempotent per CallerReference and
//     settings, else HealthCheckAlreadyExists), Get, List, Update
//     (HealthCheckVersionMismatch), Delete and GetHealthCheckCount, with
//     HealthCheckConfig's ranges, defaults and its refusal of private and
//     other unroutable addresses; a record set's HealthCheckId must name
//     one (NoSuchHealthCheck). vpcsim never probes them.
//   - Tags of zones and health checks (ChangeTagsForResource,
//     ListTagsForResource, ListTagsForResources) and GetDNSSEC
//     (NOT_SIGNING: signing is not modelled).
//   - Routing policies and alias records (issue 23, routing.go):
//     weighted, latency, failover, geolocation and multivalue sets with
//     SetIdentifier, checked as ResourceRecordSet states them; aliases to
//     a record of the account's zones (which must exist) or to anything
//     else. DNS answers pick by weight, the PRIMARY of a failover pair,
//     the default location, every multivalue set, the first latency set,
//     and follow aliases within the account's zones.
//   - Route 53's account-wide limit of five API requests per second
//     (AWSRequestsPerSecond), answered with Throttling and HTTP 400 as AWS
//     does, when Options.RequestsPerSecond is set; and, when
//     Options.RejectWhilePending is set, PriorRequestNotComplete for a change
//     to a zone whose previous change is still PENDING.
//   - Errors in Route 53's XML shape (ErrorResponse/Error/Type, Code, Message
//     and RequestId), with the codes the SDK models: NoSuchHostedZone,
//     NoSuchChange, InvalidInput, InvalidChangeBatch, HostedZoneAlreadyExists,
//     HostedZoneNotEmpty, InvalidVPCId, InvalidDomainName, Throttling,
//     PriorRequestNotComplete and the VPC association errors above.
//
// # DNS server
//
// ListenDNS serves one resolver view on a loopback port: every zone, or with
// DNSOptions.VPCID the public zones plus the private zones associated with
// that VPC. Where a private and a public zone share a name, the private one
// answers, as the Route 53 Resolver does inside an associated VPC. Answers
// carry the TTL as set; CNAMEs are followed within the served zones; a name
// with no records of the asked type gets NODATA and a missing name NXDOMAIN,
// both with the zone's SOA in the authority section and its TTL capped at
// the SOA minimum (RFC 2308), as a resolver relays them. Names outside every
// zone are REFUSED: the simulator never recurses to the internet.
//
// # Simplifies
//
//   - Identifiers (Z…, C…) are random; name servers in delegation sets and
//     the apex NS/SOA records are fixed awsdns-style names.
//   - A private zone's VPC IDs are not checked against EC2 unless
//     Options.VPCExists is set.
//   - Requests are not authenticated; the vpcsim server in front of this
//     handler checks credentials.
//   - Record names are lowercased; escapes such as \052 are not produced.
//
// # Omits
//
// Geoproximity and CIDR routing and traffic policies (rejected with
// InvalidInput), health check probing, DNSSEC signing, traffic policies, query logging,
// delegation sets, wildcard matching in the DNS server, and the
// per-zone and per-record-set quotas.
package route53
