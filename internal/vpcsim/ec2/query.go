package ec2

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/iam"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ec2Namespace is the XML namespace of EC2 API version 2016-11-15, the
// version every current SDK and the AWS CLI send.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// apiError is an EC2 error response.
type apiError = faults.APIError

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func missingParam(name string) *apiError {
	return errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s", name)
}

// missingParamMsg is a MissingParameter error with EC2's own message.
func missingParamMsg(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MissingParameter", Message: msg}
}

// notFound words the NotFound errors as EC2 does: "The routeTable ID
// 'rtb-1' does not exist", "The instance IDs 'i-1, i-2' do not exist".
func notFound(code, noun string, ids ...string) *apiError {
	if len(ids) == 1 {
		return errorf(http.StatusBadRequest, code, "The %s ID '%s' does not exist", noun, ids[0])
	}
	return errorf(http.StatusBadRequest, code, "The %s IDs '%s' do not exist", noun, strings.Join(ids, ", "))
}

// malformed checks the IDs' prefix, answering e.g.
// InvalidInstanceID.Malformed for the first one without it.
func malformed(code, prefix string, ids ...string) *apiError {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix+"-") || len(id) <= len(prefix)+1 {
			return errorf(http.StatusBadRequest, code, "Invalid id: \"%s\" (expecting \"%s-...\")", id, prefix)
		}
	}
	return nil
}

// idKind is how EC2 checks the IDs of one kind of object named by a
// parameter: the prefix and Malformed code (none for kinds whose form it
// does not check), the NotFound code and the noun of its message.
type idKind struct{ prefix, malformed, notFound, noun string }

var (
	vpcIDs      = idKind{"", "", "InvalidVpcID.NotFound", "vpc"}
	igwIDs      = idKind{"", "", "InvalidInternetGatewayID.NotFound", "internetGateway"}
	eniIDs      = idKind{"eni", "InvalidNetworkInterfaceID.Malformed", "InvalidNetworkInterfaceID.NotFound", "networkInterface"}
	instanceIDs = idKind{"i", "InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound", "instance"}
	tableIDs    = idKind{"rtb", "InvalidRouteTableId.Malformed", "InvalidRouteTableID.NotFound", "routeTable"}
)

// lookupParam finds, with get, the object that the required parameter
// name (wire in errors) names, checking the ID as k says; s.mu held.
func lookupParam[T any](r *request, name, wire string, k idKind, get func(id string) *T) (*T, error) {
	id, err := r.required(name, wire)
	if err != nil {
		return nil, err
	}
	if k.prefix != "" {
		if err := malformed(k.malformed, k.prefix, id); err != nil {
			return nil, err
		}
	}
	x := get(id)
	if x == nil {
		return nil, notFound(k.notFound, k.noun, id)
	}
	return x, nil
}

// named reports whether a Describe call's ID list selects id: an empty
// list selects every object.
func named(ids []string, id string) bool {
	return len(ids) == 0 || slices.Contains(ids, id)
}

// request is one parsed EC2 Query call.
type request struct {
	region string // of the SigV4 credential scope; "" when unsigned
	action string
	form   url.Values
	caller caller
	id     string
}

func (r *request) get(name string) string { return r.form.Get(name) }

func (r *request) required(name, wire string) (string, error) {
	v := r.form.Get(name)
	if v == "" {
		return "", missingParam(wire)
	}
	return v, nil
}

// list returns Name.1, Name.2, ... in index order (the EC2 protocol's
// flattened lists; the SDK and the CLI number from 1).
func (r *request) list(name string) []string {
	type iv struct {
		i int
		v string
	}
	var out []iv
	for k, vs := range r.form {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok || len(vs) == 0 {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		out = append(out, iv{i, vs[0]})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].i < out[b].i })
	vals := make([]string, len(out))
	for i, x := range out {
		vals[i] = x.v
	}
	return vals
}

func (r *request) boolean(name string) (value, present bool, err error) {
	v := r.form.Get(name)
	if v == "" {
		return false, false, nil
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, true, invalidParam("Value (%s) for parameter %s is invalid. Expected a boolean.", v, name)
	}
	return b, true, nil
}

// actionSpec describes one EC2 action.
type actionSpec struct {
	run func(s *Account, r *request) (any, error)
	// resources name the ARNs that IAM evaluates for the call: every
	// resource the action touches, each of which the caller's policy must
	// allow (the resource types column of "Actions defined by Amazon EC2",
	// Service Authorization Reference: AttachVolume needs instance* and
	// volume*). nil means "*", as for every Describe action (they support
	// no resource-level permissions).
	resources func(st *state, r *request) []string
}

// one is an action's resources when it touches one.
func one(f func(st *state, r *request) string) func(st *state, r *request) []string {
	return func(st *state, r *request) []string { return []string{f(st, r)} }
}

var actions = map[string]actionSpec{
	"DescribeRouteTables":           {run: (*Account).describeRouteTables},
	"CreateRoute":                   {run: (*Account).createRoute, resources: one(tableARN)},
	"ReplaceRoute":                  {run: (*Account).replaceRoute, resources: one(tableARN)},
	"DeleteRoute":                   {run: (*Account).deleteRoute, resources: one(tableARN)},
	"DescribeInstances":             {run: (*Account).describeInstances},
	"DescribeInstanceAttribute":     {run: (*Account).describeInstanceAttribute},
	"ModifyInstanceAttribute":       {run: (*Account).modifyInstanceAttribute, resources: one(instanceARN)},
	"ModifyInstanceMetadataOptions": {run: (*Account).modifyInstanceMetadataOptions, resources: one(instanceARN)},
	"DescribeNetworkInterfaces":     {run: (*Account).describeNetworkInterfaces},
	"DescribeVpcs":                  {run: (*Account).describeVpcs},
	"DescribeSubnets":               {run: (*Account).describeSubnets},

	"StopInstances":             {run: (*Account).stopInstances, resources: one(firstInstanceARN)},
	"StartInstances":            {run: (*Account).startInstances, resources: one(firstInstanceARN)},
	"CreateTags":                {run: (*Account).createTags, resources: one(taggedARN)},
	"DeleteTags":                {run: (*Account).deleteTags, resources: one(taggedARN)},
	"DescribeTags":              {run: (*Account).describeTags},
	"DescribeAvailabilityZones": {run: (*Account).describeAvailabilityZones},
	"DescribeRegions":           {run: (*Account).describeRegions},

	"CreateSecurityGroup":           {run: (*Account).createSecurityGroup, resources: one(paramARN("vpc", "VpcId"))},
	"DeleteSecurityGroup":           {run: (*Account).deleteSecurityGroup, resources: one(paramARN("security-group", "GroupId"))},
	"DescribeSecurityGroups":        {run: (*Account).describeSecurityGroups},
	"DescribeSecurityGroupRules":    {run: (*Account).describeSecurityGroupRules},
	"AuthorizeSecurityGroupIngress": {run: (*Account).authorizeSecurityGroupIngress, resources: one(paramARN("security-group", "GroupId"))},
	"AuthorizeSecurityGroupEgress":  {run: (*Account).authorizeSecurityGroupEgress, resources: one(paramARN("security-group", "GroupId"))},
	"RevokeSecurityGroupIngress":    {run: (*Account).revokeSecurityGroupIngress, resources: one(paramARN("security-group", "GroupId"))},
	"RevokeSecurityGroupEgress":     {run: (*Account).revokeSecurityGroupEgress, resources: one(paramARN("security-group", "GroupId"))},

	"CreateNetworkInterface":          {run: (*Account).createNetworkInterface, resources: one(paramARN("subnet", "SubnetId"))},
	"DeleteNetworkInterface":          {run: (*Account).deleteNetworkInterface, resources: one(eniARN)},
	"AttachNetworkInterface":          {run: (*Account).attachNetworkInterface, resources: attachENIARNs},
	"DetachNetworkInterface":          {run: (*Account).detachNetworkInterface, resources: detachENIARNs},
	"ModifyNetworkInterfaceAttribute": {run: (*Account).modifyNetworkInterfaceAttribute, resources: one(eniARN)},
	"AssignPrivateIpAddresses":        {run: (*Account).assignPrivateIpAddresses, resources: one(eniARN)},
	"UnassignPrivateIpAddresses":      {run: (*Account).unassignPrivateIpAddresses, resources: one(eniARN)},
	"AssignIpv6Addresses":             {run: (*Account).assignIpv6Addresses, resources: one(eniARN)},
	"UnassignIpv6Addresses":           {run: (*Account).unassignIpv6Addresses, resources: one(eniARN)},

	"AllocateAddress":     {run: (*Account).allocateAddress},
	"AssociateAddress":    {run: (*Account).associateAddress, resources: associateAddressARNs},
	"DisassociateAddress": {run: (*Account).disassociateAddress, resources: one(eipARN)},
	"ReleaseAddress":      {run: (*Account).releaseAddress, resources: one(eipARN)},
	"DescribeAddresses":   {run: (*Account).describeAddresses},

	"CreateVolume":    {run: (*Account).createVolume},
	"AttachVolume":    {run: (*Account).attachVolume, resources: volumeARNs},
	"DetachVolume":    {run: (*Account).detachVolume, resources: volumeARNs},
	"DeleteVolume":    {run: (*Account).deleteVolume, resources: one(paramARN("volume", "VolumeId"))},
	"DescribeVolumes": {run: (*Account).describeVolumes},

	"CreateVpc":                   {run: (*Account).createVpc},
	"DeleteVpc":                   {run: (*Account).deleteVpc, resources: one(paramARN("vpc", "VpcId"))},
	"ModifyVpcAttribute":          {run: (*Account).modifyVpcAttribute, resources: one(paramARN("vpc", "VpcId"))},
	"DescribeVpcAttribute":        {run: (*Account).describeVpcAttribute},
	"ModifyVpcTenancy":            {run: (*Account).modifyVpcTenancy, resources: one(paramARN("vpc", "VpcId"))},
	"CreateSubnet":                {run: (*Account).createSubnet, resources: one(paramARN("vpc", "VpcId"))},
	"AssociateVpcCidrBlock":       {run: (*Account).associateVpcCidrBlock, resources: one(paramARN("vpc", "VpcId"))},
	"DisassociateVpcCidrBlock":    {run: (*Account).disassociateVpcCidrBlock, resources: one(vpcAssocARN)},
	"AssociateSubnetCidrBlock":    {run: (*Account).associateSubnetCidrBlock, resources: one(paramARN("subnet", "SubnetId"))},
	"DisassociateSubnetCidrBlock": {run: (*Account).disassociateSubnetCidrBlock, resources: one(subnetAssocARN)},
	"DeleteSubnet":                {run: (*Account).deleteSubnet, resources: one(paramARN("subnet", "SubnetId"))},
	"ModifySubnetAttribute":       {run: (*Account).modifySubnetAttribute, resources: one(paramARN("subnet", "SubnetId"))},
	"RunInstances":                {run: (*Account).runInstances, resources: one(paramARN("subnet", "SubnetId"))},
	"TerminateInstances":          {run: (*Account).terminateInstances, resources: one(firstInstanceARN)},
	"DescribeInstanceStatus":      {run: (*Account).describeInstanceStatus},
	"DescribeImages":              {run: (*Account).describeImages},

	"CreateInternetGateway":             {run: (*Account).createInternetGateway},
	"AttachInternetGateway":             {run: (*Account).attachInternetGateway, resources: one(paramARN("internet-gateway", "InternetGatewayId"))},
	"DetachInternetGateway":             {run: (*Account).detachInternetGateway, resources: one(paramARN("internet-gateway", "InternetGatewayId"))},
	"DeleteInternetGateway":             {run: (*Account).deleteInternetGateway, resources: one(paramARN("internet-gateway", "InternetGatewayId"))},
	"DescribeInternetGateways":          {run: (*Account).describeInternetGateways},
	"DescribeNetworkInterfaceAttribute": {run: (*Account).describeNetworkInterfaceAttribute},

	"CreateRouteTable":             {run: (*Account).createRouteTable, resources: one(paramARN("vpc", "VpcId"))},
	"DeleteRouteTable":             {run: (*Account).deleteRouteTable, resources: one(tableARN)},
	"AssociateRouteTable":          {run: (*Account).associateRouteTable, resources: one(tableARN)},
	"DisassociateRouteTable":       {run: (*Account).disassociateRouteTable},
	"ReplaceRouteTableAssociation": {run: (*Account).replaceRouteTableAssociation, resources: one(tableARN)},
}

// The resource functions name the ARNs IAM evaluates for an action.
// tableARN is in the account that owns the table (a shared VPC's owner).
func tableARN(st *state, r *request) string {
	id := r.get("RouteTableId")
	return fmt.Sprintf("arn:aws:ec2:%s:%s:route-table/%s", st.region, st.tableOwner(id), id)
}

func instanceARN(st *state, r *request) string { return st.arn("instance", r.get("InstanceId")) }
func eniARN(st *state, r *request) string {
	return st.arn("network-interface", r.get("NetworkInterfaceId"))
}

func firstInstanceARN(st *state, r *request) string {
	return st.arn("instance", firstOr(r.list("InstanceId"), ""))
}

func paramARN(kind, param string) func(*state, *request) string {
	return func(st *state, r *request) string { return st.arn(kind, r.get(param)) }
}

func eipARN(st *state, r *request) string {
	id := r.get("AllocationId")
	if id == "" {
		for _, x := range st.eips {
			if x.assocID == r.get("AssociationId") || x.ip.String() == r.get("PublicIp") {
				id = x.id
			}
		}
	}
	return st.arn("elastic-ip", id)
}

// attachENIARNs are AttachNetworkInterface's: the instance and the
// interface, both required ("Actions defined by Amazon EC2": instance*,
// network-interface*).
func attachENIARNs(st *state, r *request) []string {
	return []string{st.arn("instance", r.get("InstanceId")), st.arn("network-interface", r.get("NetworkInterfaceId"))}
}

// detachENIARNs are DetachNetworkInterface's: the call names only the
// attachment, so the instance and the interface are the attachment's;
// "*" for an attachment that does not exist (the call then fails with
// InvalidAttachmentID.NotFound).
func detachENIARNs(st *state, r *request) []string {
	for _, e := range st.enis {
		if e.attach != nil && e.attach.id == r.get("AttachmentId") {
			return []string{st.arn("instance", e.attach.instance), st.arn("network-interface", e.id)}
		}
	}
	return []string{"*"}
}

// volumeARNs are AttachVolume's and DetachVolume's: the volume and the
// instance, both required ("Actions defined by Amazon EC2": instance*,
// volume*). A detach that names no instance acts on the one the volume is
// attached to; a volume attached nowhere leaves only the volume (the call
// then fails with IncorrectState).
func volumeARNs(st *state, r *request) []string {
	out := []string{st.arn("volume", r.get("VolumeId"))}
	id := r.get("InstanceId")
	if id == "" {
		if v, ok := st.byID[r.get("VolumeId")].(*volume); ok && v.attach != nil {
			id = v.attach.instance
		}
	}
	if id != "" {
		out = append(out, st.arn("instance", id))
	}
	return out
}

// associateAddressARNs are AssociateAddress's: the Elastic IP, and the
// instance or interface the call names ("Actions defined by Amazon EC2":
// elastic-ip, instance, network-interface, each evaluated when the
// request names it).
func associateAddressARNs(st *state, r *request) []string {
	out := []string{eipARN(st, r)}
	if id := r.get("InstanceId"); id != "" {
		out = append(out, st.arn("instance", id))
	}
	if id := r.get("NetworkInterfaceId"); id != "" {
		out = append(out, st.arn("network-interface", id))
	}
	return out
}

func taggedARN(st *state, r *request) string {
	id := firstOr(r.list("ResourceId"), "")
	if _, kind, ok := st.taggable(id); ok {
		return st.arn(kind, id)
	}
	return "*"
}

// ec2Resp carries the requestId every EC2 response starts with.
type ec2Resp struct {
	RequestID string `xml:"requestId"`
}

func (e *ec2Resp) setRequestID(id string) { e.RequestID = id }

type returnResp struct {
	ec2Resp
	Return bool `xml:"return"`
}

// set is an EC2 list: <fooSet><item>...</item></fooSet>. It is always
// written, empty or not, as EC2 does.
type set[T any] struct {
	Items []T `xml:"item"`
}

func itemsOf[T any](items ...T) set[T] { return set[T]{Items: items} }

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func tagSet(tags map[string]string) set[xTag] {
	out := set[xTag]{Items: make([]xTag, 0, len(tags))}
	for _, k := range slices.Sorted(mapsKeys(tags)) {
		out.Items = append(out.Items, xTag{Key: k, Value: tags[k]})
	}
	return out
}

// optionalTags is the tagSet of an instance or volume, which EC2 leaves
// out of DescribeInstances and DescribeVolumes when there are no tags
// (the SDKs' Tags is then absent, not empty).
func optionalTags(tags map[string]string) *set[xTag] {
	if len(tags) == 0 {
		return nil
	}
	t := tagSet(tags)
	return &t
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ec2Call is what identifyEC2 learned of a call, carried in its context
// to serveEC2 and to a late write's replay.
type ec2Call struct {
	caller caller
}

type ec2CallKey struct{}

// Service describes EC2's Query protocol to the faults middleware.
func (s *Account) Service() faults.Service {
	svc := faults.Service{
		Name:     "ec2",
		Identify: s.identifyEC2,
		Principal: func(r *http.Request) string {
			if c, ok := r.Context().Value(ec2CallKey{}).(*ec2Call); ok && (c.caller.Role != "") {
				return c.caller.Principal(s.AccountID())
			}
			return ""
		},
		Action: func(r *http.Request) string { return r.Form.Get("Action") },
		Params: func(r *http.Request) map[string]string { return paramsOf(r.Form) },
		WriteError: func(w http.ResponseWriter, r *http.Request, e *faults.APIError) {
			s.writeEC2(w, &request{id: newRequestID(), action: r.Form.Get("Action")}, nil, e)
		},
		Check: func(r *http.Request) error {
			req := ec2Request(r)
			spec, err := lookupAction(req)
			if err != nil {
				return err
			}
			return s.check(req, spec)
		},
		Latency: func(action string) time.Duration {
			if isDescribe(action) {
				return s.opts.Timing.Describe.Sample()
			}
			return s.opts.Timing.Mutate.Sample()
		},
	}
	if s.opts.Throttle {
		svc.Bucket = func(r *http.Request, action string) (string, faults.Bucket, bool) {
			if _, ok := actions[action]; !ok {
				return "", faults.Bucket{}, false
			}
			key, size := bucketFor(action, unfiltered(r.Form))
			return key, size, true
		}
	}
	return svc
}

// identifyEC2 reads and parses the form (the body is kept to check the
// signature's payload hash) and authenticates the caller.
func (s *Account) identifyEC2(hr *http.Request) (*http.Request, string, *faults.APIError) {
	body, perr := io.ReadAll(io.LimitReader(hr.Body, maxQueryBody+1))
	if perr == nil && len(body) > maxQueryBody {
		perr = errors.New("http: request body too large")
	}
	hr.Body = io.NopCloser(bytes.NewReader(body))
	if perr == nil {
		perr = hr.ParseForm()
	}
	if hr.Form == nil {
		hr.Form = url.Values{}
	}
	c, aerr := s.authenticate(hr, hr.Form, body)
	hr = hr.WithContext(context.WithValue(hr.Context(), ec2CallKey{}, &ec2Call{caller: c}))
	if aerr != nil {
		return hr, c.Name(), aerr
	}
	if perr != nil {
		return hr, c.Name(), errorf(http.StatusBadRequest, "InvalidParameterValue", "could not parse the request: %v", perr)
	}
	return hr, c.Name(), nil
}

// maxQueryBody bounds an EC2 Query request's form.
const maxQueryBody = 1 << 20

// ec2Request is the parsed call of a request identifyEC2 passed on.
func ec2Request(hr *http.Request) *request {
	region, _ := iam.Scope(hr)
	req := &request{id: newRequestID(), form: hr.Form, action: hr.Form.Get("Action"), region: region}
	if c, ok := hr.Context().Value(ec2CallKey{}).(*ec2Call); ok {
		req.caller = c.caller
	}
	return req
}

// serveEC2 handles one EC2 Query call that the faults middleware passed
// on: find the action, authorize, honour DryRun, run it, answer XML.
func (s *Account) serveEC2(w http.ResponseWriter, hr *http.Request) {
	req := ec2Request(hr)
	spec, err := lookupAction(req)
	var resp any
	if err == nil {
		resp, err = s.runAction(hr.Context(), req, spec)
	}
	s.writeEC2(w, req, resp, err)
}

func lookupAction(req *request) (actionSpec, error) {
	spec, ok := actions[req.action]
	if !ok {
		if req.action == "" {
			return spec, errorf(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action")
		}
		return spec, errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", req.action)
	}
	return spec, nil
}

// check authorizes the call and honours DryRun.
func (s *Account) check(req *request, spec actionSpec) error {
	if err := s.authorize(req, spec); err != nil {
		return err
	}
	if err := checkTagSpecs(req); err != nil {
		return err
	}
	if dry, _, _ := req.boolean("DryRun"); dry {
		return errorf(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

// runAction checks and runs the action. ctx bounds opening the IMDS
// listeners of new instances.
func (s *Account) runAction(ctx context.Context, req *request, spec actionSpec) (any, error) {
	if err := s.check(req, spec); err != nil {
		return nil, err
	}
	resp, err := spec.run(s, req)
	if err != nil {
		return nil, err
	}
	if req.action == "RunInstances" {
		// Each new instance gets its IMDS endpoint before the caller hears
		// of it; listening is I/O, so it happens here, outside the lock.
		if err := s.opts.OnLaunch(ctx); err != nil {
			s.log.Error("open imds for launched instances failed", "err", err)
		}
	}
	return resp, nil
}

// asAPIError is err as EC2 answers it: an action's *apiError, or an
// InternalError for anything else (logged, as a defect).
func (s *Account) asAPIError(req *request, err error) *apiError {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errorf(http.StatusInternalServerError, "InternalError", "An internal error has occurred")
		s.log.Error("action failed", "op", req.action, "err", err)
	}
	return ae
}

// writeEC2 answers the response or error and reports status and code. The
// XML is built in memory first so the answer carries a Content-Length.
func (s *Account) writeEC2(w http.ResponseWriter, req *request, resp any, err error) (int, string) {
	status, code := http.StatusOK, ""
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err != nil {
		ae := s.asAPIError(req, err)
		status, code = ae.Status, ae.Code
		body := struct {
			XMLName   xml.Name `xml:"Response"`
			Code      string   `xml:"Errors>Error>Code"`
			Message   string   `xml:"Errors>Error>Message"`
			RequestID string   `xml:"RequestID"`
		}{Code: ae.Code, Message: ae.Message, RequestID: req.id}
		if err := enc.Encode(body); err != nil {
			s.log.Error("encode error failed", "op", req.action, "err", err)
		}
	} else {
		if r, ok := resp.(interface{ setRequestID(string) }); ok {
			r.setRequestID(req.id)
		}
		start := xml.StartElement{
			Name: xml.Name{Local: req.action + "Response"},
			Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ec2Namespace}},
		}
		if err := enc.EncodeElement(resp, start); err != nil {
			s.log.Error("encode response failed", "op", req.action, "err", err)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return status, code
}

// unfiltered reports a Describe call without filters, IDs or pagination,
// which EC2 throttles from a smaller bucket.
func unfiltered(form url.Values) bool {
	for k := range form {
		if k == "MaxResults" || k == "NextToken" || strings.Contains(k, ".") {
			return false
		}
	}
	return true
}

func paramsOf(form url.Values) map[string]string {
	out := make(map[string]string, len(form))
	for k, v := range form {
		if k == "Action" || k == "Version" || len(v) == 0 {
			continue
		}
		out[k] = v[0]
	}
	return out
}

func newRequestID() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ServeHTTP serves one EC2 Query call that the faults middleware passed
// on after Service().Identify.
func (s *Account) ServeHTTP(w http.ResponseWriter, hr *http.Request) { s.serveEC2(w, hr) }
