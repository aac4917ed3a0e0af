// A fence around library code that trusts a file we cannot fully check: liblmdb follows
// page numbers and offsets from the mapped file without bounds checks, so a corrupt B-tree
// page makes it read outside the map (SIGSEGV), past the end of a shrunken file (SIGBUS),
// divide by a zero field (SIGFPE) or fail one of its assertions (abort). Inside
// run_guarded(), those end the guarded call instead of the process, and the caller turns
// that into an error naming the file and the key.
//
// Why signals at all: the checks before opening (lmdb_meta.h) catch truncated files and bad
// meta pages, the common case, but validating every page of a 40 GB database up front would
// read all of it. The guard is the last line for the rest.
//
// How: while at least one FaultGuardScope exists, handlers for SIGSEGV, SIGBUS and SIGFPE
// are installed (the previous ones are saved and restored when the last scope ends). A
// fault in a thread that is inside run_guarded() jumps back (siglongjmp) to its start; a
// fault anywhere else is handed to the handler that was there before (restored, so the
// faulting instruction runs again under it: crashes elsewhere still crash as they would).
#pragma once

namespace dcgan {

class FaultGuardScope {
public:
    FaultGuardScope();   // installs the handlers if this is the first scope
    ~FaultGuardScope();  // restores the previous ones if this is the last
    FaultGuardScope(const FaultGuardScope&) = delete;
    FaultGuardScope& operator=(const FaultGuardScope&) = delete;
};

// Calls fn(arg) and returns 0, or the signal number (SIGSEGV, SIGBUS, SIGFPE; SIGABRT for a
// failed liblmdb assertion, see guarded_assert_failed) that cut it short. A FaultGuardScope
// must exist. fn must be plain C-like code: a jump out of it skips destructors, so it may
// not create objects that have one. Nested calls are not supported.
int run_guarded(void (*fn)(void*), void* arg);

// For liblmdb's assert callback: inside run_guarded, jumps out as a fault would (returns
// SIGABRT there); elsewhere returns, and liblmdb aborts as it always did.
void guarded_assert_failed();

}  // namespace dcgan
