package resource

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/config"
)

// TagFilters returns the EC2 filters that select the objects carrying
// every one of tags (filters AND): tag:<key> with the value, or tag-key
// for a tag whose value is "" (any value). The kinds put them in the one
// Describe call they make anyway, so a tag selector is resolved again on
// every read at no extra call.
func TagFilters(tags []config.Tag) []types.Filter {
	out := make([]types.Filter, 0, len(tags))
	for _, t := range tags {
		if t.Value == "" {
			out = append(out, types.Filter{Name: aws.String("tag-key"), Values: []string{t.Key}})
			continue
		}
		out = append(out, types.Filter{Name: aws.String("tag:" + t.Key), Values: []string{t.Value}})
	}
	return out
}

// OneTagged checks that a tag selector of a kind that owns one object
// (an interface, a volume, an Elastic IP) selected exactly one: ids are
// the objects the Describe call returned, noun names their type. None is
// an error naming the tags; several is an error naming every id, since
// vipd cannot tell which one the operator meant.
func OneTagged(noun string, tags []config.Tag, ids []string) error {
	switch len(ids) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("no %s has the tags %s", noun, config.TagsString(tags))
	}
	return fmt.Errorf("the tags %s select %d %ss (%s); they must select one: tag only one, or name it by id", config.TagsString(tags), len(ids), noun, strings.Join(ids, ", "))
}
