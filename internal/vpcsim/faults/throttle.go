package faults

import (
	"sync"
	"time"
)

// Bucket is the size of one token bucket: AWS throttles each action (or
// category of actions) with a bucket that holds Capacity tokens and
// refills Refill tokens a second.
type Bucket struct {
	Capacity float64
	Refill   float64
}

// buckets holds one token bucket per key.
type buckets struct {
	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take removes a token from the key's bucket, refilling it for the time
// passed; false means the call is throttled.
func (t *buckets) take(key string, size Bucket, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*bucket{}
	}
	b, ok := t.m[key]
	if !ok {
		b = &bucket{tokens: size.Capacity, last: now}
		t.m[key] = b
	}
	b.tokens = min(size.Capacity, b.tokens+now.Sub(b.last).Seconds()*size.Refill)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
