package resource_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// fake records its calls in a shared list and fails as told.
type fake struct {
	name, kind string
	calls      *[]string
	acquireErr error
	releaseErr error
}

func (f *fake) Name() string { return f.name }
func (f *fake) Kind() string { return f.kind }
func (f *fake) Acquire(context.Context, resource.Self, fence.Token) error {
	*f.calls = append(*f.calls, "acquire "+f.name)
	return f.acquireErr
}
func (f *fake) Release(context.Context, resource.Self, fence.Token) error {
	*f.calls = append(*f.calls, "release "+f.name)
	return f.releaseErr
}
func (f *fake) Check(context.Context, resource.Self) (resource.Status, error) {
	return resource.Status{InSync: true}, nil
}

type local struct{ calls *[]string }

func (l local) Bind(context.Context) error          { *l.calls = append(*l.calls, "bind"); return nil }
func (l local) Unbind(context.Context) error        { *l.calls = append(*l.calls, "unbind"); return nil }
func (l local) Bound(context.Context) (bool, error) { return true, nil }
func (l local) String() string                      { return "192.168.100.10/32 on test0" }

func token() fence.Token {
	return fence.New(1, func(uint64) (time.Time, bool) { return time.Now().Add(time.Hour), true })
}

// A failed acquire stops the plan there, so nothing after it points at a
// node that could not take what comes first; its steps say how far it got.
func TestPlanAcquireStopsAtTheFirstFailure(t *testing.T) {
	var calls []string
	broken := errors.New("RequestLimitExceeded")
	p := resource.NewPlan([]resource.Planned{
		{Resource: &fake{name: "dns", kind: "route53", calls: &calls}, Order: resource.LocalAddressOrder + 1},
		{Resource: &fake{name: "route", kind: "overlay-route", calls: &calls, acquireErr: broken}, Order: 2},
		{Resource: &fake{name: "volume", kind: "ebs-volume", calls: &calls}, Order: 1},
	}, resource.PlanOptions{Local: local{&calls}})
	steps, err := p.Acquire(t.Context(), resource.Self{}, token())
	if !errors.Is(err, broken) {
		t.Fatalf("Acquire: got %v, want the route's error", err)
	}
	if want := []string{"acquire volume", "acquire route"}; !slices.Equal(calls, want) {
		t.Errorf("calls: got %v, want %v", calls, want)
	}
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s %s %v", s.Op, s.Resource, s.Err != nil))
	}
	if want := []string{"acquire volume false", "acquire route true"}; !slices.Equal(got, want) {
		t.Errorf("steps: got %v, want %v", got, want)
	}
}

// Release unbinds the local address first and carries on past a failed
// resource; a resource that finds the grant gone has nothing to undo.
func TestPlanReleaseCarriesOn(t *testing.T) {
	var calls []string
	broken := errors.New("UnauthorizedOperation")
	p := resource.NewPlan([]resource.Planned{
		{Resource: &fake{name: "volume", calls: &calls}, Order: 1},
		{Resource: &fake{name: "route", calls: &calls, releaseErr: broken}, Order: 2},
		{Resource: &fake{name: "dns", calls: &calls, releaseErr: fmt.Errorf("upsert: %w", fence.ErrStale)}, Order: resource.LocalAddressOrder + 1},
	}, resource.PlanOptions{Local: local{&calls}})
	steps, err := p.Release(t.Context(), resource.Self{}, token())
	if want := []string{"unbind", "release dns", "release route", "release volume"}; !slices.Equal(calls, want) {
		t.Errorf("calls: got %v, want %v", calls, want)
	}
	if !errors.Is(err, broken) || errors.Is(err, fence.ErrStale) {
		t.Errorf("Release: got %v, want the route's error only", err)
	}
	if len(steps) != 4 || steps[0].Resource != resource.LocalStep || steps[1].Err != nil || steps[2].Err == nil {
		t.Errorf("steps: got %+v, want local, dns (no error), route (error), volume", steps)
	}
}
