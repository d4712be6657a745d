package route53

import (
	"encoding/xml"
	"slices"
	"strings"
)

// Tags of hosted zones and health checks (API reference
// ChangeTagsForResource, ListTagsForResource, ListTagsForResources):
// ResourceType is healthcheck or hostedzone, ResourceId the bare ID (at
// most 32 characters, so /hostedzone/ZONEID is refused), AddTags and
// RemoveTagKeys hold at most 10 each, keys are 1 to 128 characters and
// values at most 256 (Tag). Removing a key the resource does not have
// does nothing.

type wireTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type changeTagsRequest struct {
	XMLName       xml.Name  `xml:"ChangeTagsForResourceRequest"`
	AddTags       []wireTag `xml:"AddTags>Tag"`
	RemoveTagKeys []string  `xml:"RemoveTagKeys>Key"`
}

type listTagsForResourcesRequest struct {
	XMLName     xml.Name `xml:"ListTagsForResourcesRequest"`
	ResourceIDs []string `xml:"ResourceIds>ResourceId"`
}

type wireResourceTagSet struct {
	ResourceType string    `xml:"ResourceType"`
	ResourceID   string    `xml:"ResourceId"`
	Tags         []wireTag `xml:"Tags>Tag"`
}

type changeTagsResponse struct {
	XMLName xml.Name `xml:"ChangeTagsForResourceResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
}

type listTagsForResourceResponse struct {
	XMLName xml.Name           `xml:"ListTagsForResourceResponse"`
	Xmlns   string             `xml:"xmlns,attr"`
	Set     wireResourceTagSet `xml:"ResourceTagSet"`
}

type listTagsForResourcesResponse struct {
	XMLName xml.Name             `xml:"ListTagsForResourcesResponse"`
	Xmlns   string               `xml:"xmlns,attr"`
	Sets    []wireResourceTagSet `xml:"ResourceTagSets>ResourceTagSet"`
}

// taggedLocked checks that a resource exists and returns its tag key.
func (s *Service) taggedLocked(typ, id string) (string, error) {
	switch typ {
	case "hostedzone", "healthcheck":
	default:
		return "", constraint(typ, "resourceType", "satisfy enum value set: [healthcheck, hostedzone]")
	}
	if len(id) > 32 {
		return "", constraint(id, "resourceId", "have length less than or equal to 32")
	}
	if typ == "hostedzone" {
		if _, err := s.zoneLocked(id); err != nil {
			return "", err
		}
	} else if _, err := s.healthCheckLocked(id); err != nil {
		return "", err
	}
	return typ + "/" + id, nil
}

func (s *Service) tagSetLocked(typ, id, key string) wireResourceTagSet {
	set := wireResourceTagSet{ResourceType: typ, ResourceID: id, Tags: []wireTag{}}
	tags := s.tags[key]
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range tags {
			if !yield(k) {
				return
			}
		}
	}) {
		set.Tags = append(set.Tags, wireTag{Key: k, Value: tags[k]})
	}
	return set
}

func (s *Service) changeTags(typ, id string, req *changeTagsRequest) (any, error) {
	if len(req.AddTags) > 10 {
		return nil, constraint("[...]", "addTags", "have length less than or equal to 10")
	}
	if len(req.RemoveTagKeys) > 10 {
		return nil, constraint("[...]", "removeTagKeys", "have length less than or equal to 10")
	}
	for _, t := range req.AddTags {
		if t.Key == "" || len(t.Key) > 128 {
			return nil, constraint(t.Key, "addTags.member.key", "have length between 1 and 128")
		}
		if len(t.Value) > 256 {
			return nil, constraint(t.Value, "addTags.member.value", "have length less than or equal to 256")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.taggedLocked(typ, id)
	if err != nil {
		return nil, err
	}
	if s.tags == nil {
		s.tags = map[string]map[string]string{}
	}
	tags := s.tags[key]
	if tags == nil {
		tags = map[string]string{}
		s.tags[key] = tags
	}
	for _, t := range req.AddTags {
		tags[t.Key] = t.Value
	}
	for _, k := range req.RemoveTagKeys {
		delete(tags, k)
	}
	return &changeTagsResponse{Xmlns: xmlns}, nil
}

func (s *Service) listTagsForResource(typ, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, err := s.taggedLocked(typ, id)
	if err != nil {
		return nil, err
	}
	return &listTagsForResourceResponse{Xmlns: xmlns, Set: s.tagSetLocked(typ, id, key)}, nil
}

// listTagsForResources answers up to 10 resources of one type at once.
func (s *Service) listTagsForResources(typ string, ids []string) (any, error) {
	if len(ids) == 0 || len(ids) > 10 {
		return nil, constraint("["+strings.Join(ids, ", ")+"]", "resourceIds", "have length between 1 and 10")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &listTagsForResourcesResponse{Xmlns: xmlns, Sets: []wireResourceTagSet{}}
	for _, id := range ids {
		key, err := s.taggedLocked(typ, id)
		if err != nil {
			return nil, err
		}
		out.Sets = append(out.Sets, s.tagSetLocked(typ, id, key))
	}
	return out, nil
}
