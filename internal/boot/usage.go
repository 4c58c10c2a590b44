package boot

import (
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// rusage is the process's resource use at one moment (getrusage(2), RUSAGE_SELF): what a
// step's debug line reports of where its time went. Under emulation a page fault costs tens
// of microseconds, so the fault counts explain a step's time where its CPU profile cannot.
type rusage struct {
	user, system   time.Duration
	minflt, majflt int64
	inblock        int64
}

// usage reads the process's resource use; zero when getrusage fails (it cannot, for
// RUSAGE_SELF with a valid buffer).
func usage() rusage {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return rusage{}
	}
	return rusage{
		user:    time.Duration(ru.Utime.Nano()),
		system:  time.Duration(ru.Stime.Nano()),
		minflt:  ru.Minflt,
		majflt:  ru.Majflt,
		inblock: ru.Inblock,
	}
}

// since is the use between before and now, as log fields.
func (now rusage) since(before rusage) []zap.Field {
	return []zap.Field{
		zap.Duration("user", now.user-before.user),
		zap.Duration("system", now.system-before.system),
		zap.Int64("minor_faults", now.minflt-before.minflt),
		zap.Int64("major_faults", now.majflt-before.majflt),
		zap.Int64("blocks_read", now.inblock-before.inblock),
	}
}
