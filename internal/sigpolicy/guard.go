package sigpolicy

import (
	"context"
	"os"
	"os/signal"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

var (
	guardOnce sync.Once
	guardErr  error
)

// Guard makes every catchable signal harmless to this process, for the rest of its life:
// every signal caught ByNotify is subscribed to a channel nobody reads (os/signal never
// blocks on a full channel, so they are discarded unless another subscriber wants them),
// and the raw handler is installed for the ByFilter and ByDiscard signals. Handlers, not
// SIG_IGN: an execve(2) resets all of them to the default. Guard is idempotent; an error
// means the raw handler could not be installed (the os/signal part always is).
func Guard() error {
	guardOnce.Do(func() {
		signal.Notify(make(chan os.Signal, 1), signals(func(r Rule) bool { return r.Catch == ByNotify })...)
		guardErr = installRaw()
	})
	return guardErr
}

// AbortError is the cause of the bring-up context's cancellation.
type AbortError struct{ Signal unix.Signal }

// Error says which signal arrived.
func (e *AbortError) Error() string { return "received " + Name(e.Signal) }

// BringUp applies the bring-up column of Table until stop is called: it calls Guard, and
// cancels ctx with an *AbortError cause on the first abort signal; the signals it ignores
// are logged at debug level. Call stop right before the exec of the init or the start of
// the supervisor: signals then no longer cancel ctx (nor are logged), but they stay caught
// (Guard) until the exec resets them or the supervisor subscribes. stop does not cancel
// ctx, and may be called more than once.
func BringUp(log *zap.Logger) (ctx context.Context, stop func()) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := Guard(); err != nil {
		log.Warn("signals", zap.Error(err))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, len(Table))
	signal.Notify(sigs, append(Aborts(), Ignored(false)...)...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				sig := s.(unix.Signal)
				if Table[sig].BringUp == Abort {
					cancel(&AbortError{Signal: sig})
					continue
				}
				log.Debug("ignored signal during the bring-up", zap.String("signal", Name(sig)))
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
		})
	}
}
