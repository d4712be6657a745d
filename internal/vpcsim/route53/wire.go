package route53

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// xmlns is the namespace of every Route 53 2013-04-01 document.
const xmlns = "https://route53.amazonaws.com/doc/2013-04-01/"

// Request documents, as the SDK and the CLI serialize them.

type createHostedZoneRequest struct {
	XMLName          xml.Name        `xml:"CreateHostedZoneRequest"`
	Name             string          `xml:"Name"`
	VPC              *wireVPC        `xml:"VPC"`
	CallerReference  string          `xml:"CallerReference"`
	HostedZoneConfig *wireZoneConfig `xml:"HostedZoneConfig"`
	DelegationSetID  string          `xml:"DelegationSetId"`
}

type updateHostedZoneCommentRequest struct {
	XMLName xml.Name `xml:"UpdateHostedZoneCommentRequest"`
	Comment string   `xml:"Comment"`
}

// vpcAssociationRequest is both AssociateVPCWithHostedZoneRequest and
// DisassociateVPCFromHostedZoneRequest.
type vpcAssociationRequest struct {
	VPC     wireVPC `xml:"VPC"`
	Comment string  `xml:"Comment"`
}

type changeResourceRecordSetsRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch struct {
		Comment string       `xml:"Comment"`
		Changes []wireChange `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

type wireChange struct {
	Action            string    `xml:"Action"`
	ResourceRecordSet wireRRSet `xml:"ResourceRecordSet"`
}

// Shared shapes.

type wireVPC struct {
	VPCRegion string `xml:"VPCRegion,omitempty"`
	VPCID     string `xml:"VPCId,omitempty"`
}

type wireZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type wireZone struct {
	ID                     string         `xml:"Id"`
	Name                   string         `xml:"Name"`
	CallerReference        string         `xml:"CallerReference"`
	Config                 wireZoneConfig `xml:"Config"`
	ResourceRecordSetCount int            `xml:"ResourceRecordSetCount"`
}

type wireRRSet struct {
	Name          string `xml:"Name"`
	Type          string `xml:"Type"`
	SetIdentifier string `xml:"SetIdentifier,omitempty"`
	// Routing-policy members (routing.go); geoproximity and CIDR routing
	// are decoded only to reject them.
	Weight          *int64     `xml:"Weight,omitempty"`
	Region          string     `xml:"Region,omitempty"`
	GeoLocation     *wireGeo   `xml:"GeoLocation,omitempty"`
	Failover        string     `xml:"Failover,omitempty"`
	MultiValue      *bool      `xml:"MultiValueAnswer,omitempty"`
	TTL             *int64     `xml:"TTL,omitempty"`
	ResourceRecords *wireRRs   `xml:"ResourceRecords,omitempty"`
	AliasTarget     *wireAlias `xml:"AliasTarget,omitempty"`
	GeoProximity    *struct{}  `xml:"GeoProximityLocation,omitempty"`
	CidrRouting     *struct{}  `xml:"CidrRoutingConfig,omitempty"`
	HealthCheckID   string     `xml:"HealthCheckId,omitempty"`
	TrafficPolicy   string     `xml:"TrafficPolicyInstanceId,omitempty"`
}

type wireGeo struct {
	ContinentCode   string `xml:"ContinentCode,omitempty"`
	CountryCode     string `xml:"CountryCode,omitempty"`
	SubdivisionCode string `xml:"SubdivisionCode,omitempty"`
}

type wireAlias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type wireRRs struct {
	Records []wireRR `xml:"ResourceRecord"`
}

type wireRR struct {
	Value string `xml:"Value"`
}

type wireChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type wireDelegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

// Response documents.

type createHostedZoneResponse struct {
	XMLName       xml.Name           `xml:"CreateHostedZoneResponse"`
	Xmlns         string             `xml:"xmlns,attr"`
	HostedZone    wireZone           `xml:"HostedZone"`
	ChangeInfo    wireChangeInfo     `xml:"ChangeInfo"`
	DelegationSet *wireDelegationSet `xml:"DelegationSet,omitempty"`
	VPC           *wireVPC           `xml:"VPC,omitempty"`
}

type getHostedZoneResponse struct {
	XMLName       xml.Name           `xml:"GetHostedZoneResponse"`
	Xmlns         string             `xml:"xmlns,attr"`
	HostedZone    wireZone           `xml:"HostedZone"`
	DelegationSet *wireDelegationSet `xml:"DelegationSet,omitempty"`
	VPCs          *[]wireVPC         `xml:"VPCs>VPC,omitempty"`
}

type listHostedZonesResponse struct {
	XMLName     xml.Name   `xml:"ListHostedZonesResponse"`
	Xmlns       string     `xml:"xmlns,attr"`
	HostedZones []wireZone `xml:"HostedZones>HostedZone"`
	Marker      string     `xml:"Marker,omitempty"`
	IsTruncated bool       `xml:"IsTruncated"`
	NextMarker  string     `xml:"NextMarker,omitempty"`
	MaxItems    int        `xml:"MaxItems"`
}

type listHostedZonesByNameResponse struct {
	XMLName          xml.Name   `xml:"ListHostedZonesByNameResponse"`
	Xmlns            string     `xml:"xmlns,attr"`
	HostedZones      []wireZone `xml:"HostedZones>HostedZone"`
	DNSName          string     `xml:"DNSName,omitempty"`
	HostedZoneID     string     `xml:"HostedZoneId,omitempty"`
	IsTruncated      bool       `xml:"IsTruncated"`
	NextDNSName      string     `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string     `xml:"NextHostedZoneId,omitempty"`
	MaxItems         int        `xml:"MaxItems"`
}

type wireOwner struct {
	Account string `xml:"OwningAccount,omitempty"`
}

type wireZoneSummary struct {
	ID    string    `xml:"HostedZoneId"`
	Name  string    `xml:"Name"`
	Owner wireOwner `xml:"Owner"`
}

type listHostedZonesByVPCResponse struct {
	XMLName   xml.Name          `xml:"ListHostedZonesByVPCResponse"`
	Xmlns     string            `xml:"xmlns,attr"`
	Summaries []wireZoneSummary `xml:"HostedZoneSummaries>HostedZoneSummary"`
	MaxItems  int               `xml:"MaxItems"`
	NextToken string            `xml:"NextToken,omitempty"`
}

type getHostedZoneCountResponse struct {
	XMLName         xml.Name `xml:"GetHostedZoneCountResponse"`
	Xmlns           string   `xml:"xmlns,attr"`
	HostedZoneCount int      `xml:"HostedZoneCount"`
}

type updateHostedZoneCommentResponse struct {
	XMLName    xml.Name `xml:"UpdateHostedZoneCommentResponse"`
	Xmlns      string   `xml:"xmlns,attr"`
	HostedZone wireZone `xml:"HostedZone"`
}

type associateVPCResponse struct {
	XMLName    xml.Name       `xml:"AssociateVPCWithHostedZoneResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
}

type disassociateVPCResponse struct {
	XMLName    xml.Name       `xml:"DisassociateVPCFromHostedZoneResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
}

type changeResourceRecordSetsResponse struct {
	XMLName    xml.Name       `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
}

type deleteHostedZoneResponse struct {
	XMLName    xml.Name       `xml:"DeleteHostedZoneResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
}

type getChangeResponse struct {
	XMLName    xml.Name       `xml:"GetChangeResponse"`
	Xmlns      string         `xml:"xmlns,attr"`
	ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
}

type listResourceRecordSetsResponse struct {
	XMLName            xml.Name    `xml:"ListResourceRecordSetsResponse"`
	Xmlns              string      `xml:"xmlns,attr"`
	ResourceRecordSets []wireRRSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated        bool        `xml:"IsTruncated"`
	NextRecordName     string      `xml:"NextRecordName,omitempty"`
	NextRecordType     string      `xml:"NextRecordType,omitempty"`
	NextRecordID       string      `xml:"NextRecordIdentifier,omitempty"`
	MaxItems           int         `xml:"MaxItems"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// apiError is a Route 53 error: an HTTP status, a code the SDK models and
// AWS's message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalidInput(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func noSuchHostedZone(id string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
}

// timeFormat is how Route 53 writes SubmittedAt (ISO 8601, milliseconds).
func timeFormat(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
