package ec2

import (
	"net/http"
	"strings"
)

// DescribeInstanceCreditSpecifications: "Describes the credit option for
// CPU usage of the specified burstable performance instances. The credit
// options are standard and unlimited." With InstanceId.N "Amazon EC2
// returns the credit option (standard or unlimited) of those instances.
// If you specify an instance ID that is not valid, such as an instance
// that is not a burstable performance instance, an error is returned";
// without, it "returns burstable performance instances with the
// unlimited credit option" (API reference
// DescribeInstanceCreditSpecifications). The error code is the one the
// credit-specification operations name for such an instance,
// InstanceCreditSpecification.NotSupported (API reference
// UnsuccessfulInstanceCreditSpecificationItemError).
//
// vpcsim keeps no credit option of its own: an instance has its family's
// launch default, "standard (T2 instances) or unlimited (T3/T3a/T4g
// instances)" (API reference RunInstances, CreditSpecification, Default).
// RunInstances' CreditSpecification and ModifyInstanceCreditSpecification
// are not modelled.
func init() {
	actions["DescribeInstanceCreditSpecifications"] = actionSpec{run: (*Account).describeInstanceCreditSpecifications}
}

// creditOption is the launch default credit option of an instance type,
// "" for a type that is not burstable.
func creditOption(instanceType string) string {
	family, _, _ := strings.Cut(instanceType, ".")
	switch family {
	case "t2":
		return "standard"
	case "t3", "t3a", "t4g":
		return "unlimited"
	}
	return ""
}

type xInstanceCreditSpecification struct {
	InstanceID string `xml:"instanceId"`
	CPUCredits string `xml:"cpuCredits"`
}

type describeInstanceCreditSpecificationsResp struct {
	ec2Resp
	Specs set[xInstanceCreditSpecification] `xml:"instanceCreditSpecificationSet"`
}

func (s *Account) describeInstanceCreditSpecifications(r *request) (any, error) {
	fs, err := r.filters("instance-id")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	out := &describeInstanceCreditSpecificationsResp{Specs: set[xInstanceCreditSpecification]{Items: []xInstanceCreditSpecification{}}}
	var ins []*instance
	if len(r.list("InstanceId")) > 0 {
		if ins, err = st.lookupInstances(r); err != nil {
			return nil, err
		}
		for _, in := range ins {
			if creditOption(in.instanceType) == "" {
				return nil, errorf(http.StatusBadRequest, "InstanceCreditSpecification.NotSupported",
					"The instance %s (%s) is not a burstable performance instance.", in.id, in.instanceType)
			}
		}
	} else {
		for _, in := range st.insts {
			if in.state != "terminated" && creditOption(in.instanceType) == "unlimited" {
				ins = append(ins, in)
			}
		}
	}
	for _, in := range ins {
		x := xInstanceCreditSpecification{InstanceID: in.id, CPUCredits: creditOption(in.instanceType)}
		if match(fs, nil, func(string) []string { return []string{x.InstanceID} }) {
			out.Specs.Items = append(out.Specs.Items, x)
		}
	}
	return out, nil
}
