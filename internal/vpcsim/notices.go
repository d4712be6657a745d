package vpcsim

import (
	"net/http"

	"github.com/vipd/vipd/internal/vpcsim/ec2"
)

// InstanceEvent is what a control call announces to an instance through
// its metadata; see ec2.InstanceEvent.
type InstanceEvent = ec2.InstanceEvent

// The instance event kinds; see package ec2.
const (
	EventSpotInterruption        = ec2.EventSpotInterruption
	EventRebalanceRecommendation = ec2.EventRebalanceRecommendation
	EventScheduledMaintenance    = ec2.EventScheduledMaintenance
	EventAutoScaling             = ec2.EventAutoScaling
)

// AnnounceEvent makes an instance's metadata announce ev: a Spot
// interruption notice (then, at its time, the instance stops or
// terminates), a rebalance recommendation, a scheduled maintenance event,
// or an Auto Scaling target lifecycle state. It replaces an earlier event
// of the kind; scheduled events add to the list.
func (s *Server) AnnounceEvent(instanceID string, ev InstanceEvent) error {
	return s.ec2.AnnounceEvent(instanceID, ev)
}

// ClearEvents withdraws the events of kind ("" = every kind) from an
// instance's metadata; a withdrawn Spot interruption is not carried out.
func (s *Server) ClearEvents(instanceID, kind string) error {
	return s.ec2.ClearEvents(instanceID, kind)
}

// routeEvents registers POST and DELETE /_sim/instances/{id}/events.
func (s *Server) routeEvents(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/instances/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		var ev InstanceEvent
		if err := decodeJSON(r, &ev); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.AnnounceEvent(r.PathValue("id"), ev); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("DELETE /_sim/instances/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ClearEvents(r.PathValue("id"), r.URL.Query().Get("kind")); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}
