package resource

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMost(t *testing.T) {
	b := NewBackoff(time.Millisecond, 5*time.Millisecond)
	var got []time.Duration
	for range 4 {
		if !b.Wait(t.Context()) {
			t.Fatal("Wait = false with a live context")
		}
		got = append(got, b.next)
	}
	want := []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Errorf("delays after each Wait = %v, want %v", got, want)
	}
}

func TestBackoffStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := NewBackoff(time.Hour, time.Hour)
	start := time.Now()
	if b.Wait(ctx) {
		t.Fatal("Wait = true with a cancelled context")
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Wait took %v after the context ended", d)
	}
}

func TestVerify(t *testing.T) {
	t.Run("in sync on the third read", func(t *testing.T) {
		n := 0
		err := Verify(t.Context(), func(context.Context) (Status, error) {
			n++
			return Status{InSync: n == 3, Drift: []string{"not yet"}}, nil
		})
		if err != nil || n != 3 {
			t.Errorf("Verify = %v after %d reads, want nil after 3", err, n)
		}
	})
	t.Run("a failed read ends it", func(t *testing.T) {
		boom := errors.New("boom")
		err := Verify(t.Context(), func(context.Context) (Status, error) { return Status{}, boom })
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "verify: ") {
			t.Errorf("Verify = %v, want verify: boom", err)
		}
	})
	t.Run("the context ends it with the last drift", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err := Verify(ctx, func(context.Context) (Status, error) {
			return Status{Drift: []string{"a: on b", "c: missing"}}, nil
		})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "verify: a: on b; c: missing: ") {
			t.Errorf("Verify = %v, want the drift and the deadline", err)
		}
	})
}
