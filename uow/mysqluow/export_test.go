package mysqluow

import (
	"context"

	"github.com/dddkit/ddd/uow/driver"
)

// PauseCommits implements uowtest.CommitPauser for the tests: every later commit of d calls
// pause after its statements ran and before COMMIT; nil removes it.
func (d *Driver) PauseCommits(pause func(context.Context, *driver.Changes)) {
	if pause == nil {
		d.pause.Store(nil)
		return
	}
	d.pause.Store(&pause)
}
