package route53

import (
	"net/http"
	"slices"
)

// A private hosted zone answers in the VPCs associated with it: the one it
// was created with, and those AssociateVPCWithHostedZone adds, until
// DisassociateVPCFromHostedZone removes all but the last.

// associatedLocked reports whether vpcID is associated with the zone.
func (z *zone) associatedLocked(vpcID string) bool {
	return slices.ContainsFunc(z.vpcs, func(v wireVPC) bool { return v.VPCID == vpcID })
}

func (s *Service) changeVPCAssociation(id string, associate bool, req *vpcAssociationRequest) (any, error) {
	vpc := req.VPC
	if vpc.VPCID == "" {
		return nil, invalidInput("1 validation error detected: Value null at 'vPC.vPCId' failed to satisfy constraint: Member must not be null")
	}
	if associate && vpc.VPCRegion == "" {
		return nil, errorf(http.StatusBadRequest, "InvalidVPCId", "A VPC association requires VPCRegion")
	}
	if associate && s.opts.VPCExists != nil && !s.opts.VPCExists(vpc.VPCRegion, vpc.VPCID) {
		return nil, errorf(http.StatusBadRequest, "InvalidVPCId", "The VPC: %s you provided is not authorized to make the association.", vpc.VPCID)
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	if associate {
		if !z.private {
			return nil, errorf(http.StatusBadRequest, "PublicZoneVPCAssociation", "You're trying to associate a VPC with a public hosted zone. Amazon Route 53 doesn't support associating a VPC with a public hosted zone.")
		}
		for _, o := range s.zones {
			if o.private && o.name == z.name && o.associatedLocked(vpc.VPCID) {
				return nil, errorf(http.StatusBadRequest, "ConflictingDomainExists", "The VPC that you specified is already associated with a hosted zone that has the same name, %s", z.name)
			}
		}
		z.vpcs = append(z.vpcs, vpc)
	} else {
		i := slices.IndexFunc(z.vpcs, func(v wireVPC) bool {
			return v.VPCID == vpc.VPCID && (vpc.VPCRegion == "" || v.VPCRegion == vpc.VPCRegion)
		})
		if i < 0 {
			return nil, errorf(http.StatusNotFound, "VPCAssociationNotFound", "The specified VPC and hosted zone are not currently associated.")
		}
		if len(z.vpcs) == 1 {
			return nil, errorf(http.StatusBadRequest, "LastVPCAssociation", "The VPC that you're trying to disassociate from the private hosted zone is the last VPC that is associated with the hosted zone. Amazon Route 53 doesn't support disassociating the last VPC from a hosted zone.")
		}
		z.vpcs = slices.Delete(z.vpcs, i, i+1)
	}
	c := s.submitLocked(z, req.Comment, nil, now)
	if associate {
		return &associateVPCResponse{Xmlns: xmlns, ChangeInfo: c.wire()}, nil
	}
	return &disassociateVPCResponse{Xmlns: xmlns, ChangeInfo: c.wire()}, nil
}

// listHostedZonesByVPC lists the private zones associated with a VPC, in
// creation order; NextToken is the ID of the first zone of the next page.
func (s *Service) listHostedZonesByVPC(r *http.Request) (any, error) {
	limit, err := maxItems(r, 100)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	vpcID, region, token := q.Get("vpcid"), q.Get("vpcregion"), q.Get("nexttoken")
	if vpcID == "" || region == "" {
		return nil, invalidInput("The input is not valid: VPCId and VPCRegion are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &listHostedZonesByVPCResponse{Xmlns: xmlns, MaxItems: limit, Summaries: []wireZoneSummary{}}
	started := token == ""
	for _, z := range s.zones {
		started = started || z.id == token
		if !started || !z.private || !slices.Contains(z.vpcs, wireVPC{VPCRegion: region, VPCID: vpcID}) {
			continue
		}
		if len(resp.Summaries) == limit {
			resp.NextToken = z.id
			break
		}
		resp.Summaries = append(resp.Summaries, wireZoneSummary{ID: z.id, Name: z.name, Owner: wireOwner{Account: s.opts.AccountID}})
	}
	if !started {
		return nil, invalidInput("Invalid value for nexttoken: %s", token)
	}
	return resp, nil
}

func (s *Service) updateHostedZoneComment(id, comment string) (any, error) {
	if len(comment) > 256 {
		return nil, invalidInput("1 validation error detected: Value '%s' at 'comment' failed to satisfy constraint: Member must have length less than or equal to 256", comment)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	z.comment = comment
	return &updateHostedZoneCommentResponse{Xmlns: xmlns, HostedZone: z.wire()}, nil
}
