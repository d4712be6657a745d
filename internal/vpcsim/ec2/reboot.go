package ec2

import "net/http"

// RebootInstances: "Requests a reboot of the specified instances" (API
// reference RebootInstances). The reboot happens inside the instance,
// which stays running: its state, addresses and attachments do not
// change. "Requests to reboot terminated instances are ignored"; an
// instance that is not running otherwise cannot be rebooted
// (IncorrectInstanceState).
func init() {
	actions["RebootInstances"] = actionSpec{run: (*Account).rebootInstances, resources: one(firstInstanceARN)}
}

func (s *Account) rebootInstances(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		ins, err := st.lookupInstances(r)
		if err != nil {
			return err
		}
		for _, in := range ins {
			if in.state != "running" && in.state != "terminated" {
				return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be rebooted.", in.id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}
