package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/vipd/vipd/internal/admin"
)

// statusAsker is the node's status call; a node answers it only while its
// loop runs, which is what readiness and the watchdog are about.
type statusAsker interface {
	Status(ctx context.Context) (admin.Status, error)
}

// notifySystemd tells systemd (Type=notify, deploy/vipd.service) about the
// daemon's life: READY=1 once the node loop answers, WATCHDOG=1 at half of
// WatchdogSec for as long as it keeps answering — a wedged loop stops the
// pings and systemd restarts vipd — and STOPPING=1 when ctx ends (SIGTERM)
// or the returned stop is called. Without NOTIFY_SOCKET (not under
// systemd) every notification is a no-op. stop waits for the notifier.
func notifySystemd(ctx context.Context, n statusAsker, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runNotify(ctx, n, log)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

func runNotify(ctx context.Context, n statusAsker, log *slog.Logger) {
	send := func(state string) {
		if _, err := daemon.SdNotify(false, state); err != nil {
			log.Warn("systemd notify failed", "reason", state, "err", err)
		}
	}
	defer send(daemon.SdNotifyStopping)
	// The loop answers its first Status as soon as it runs.
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := n.Status(sctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	send(daemon.SdNotifyReady)
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog settings unreadable", "err", err)
		return
	}
	if interval <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, interval/4)
		_, err := n.Status(sctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("node loop did not answer: watchdog not fed", "err", err)
			}
			continue
		}
		send(daemon.SdNotifyWatchdog)
	}
}
